"""Measures of a tracked trajectory against its ground truth: lag, jitter, overshoot after a stop.

All take (T, D) arrays sampled at the same T frames (frame period ``dt`` seconds), truth and output aligned
frame by frame (metres for positions). Used by ``benchmarks/bench_temporal.py``.
"""

from __future__ import annotations

import numpy as np


def _delayed(truth: np.ndarray, frames: float) -> np.ndarray:
    """The truth delayed by ``frames`` (sub-frame, linear interpolation; held at the ends)."""
    t = np.arange(len(truth), dtype=np.float64)
    return np.stack([np.interp(t - frames, t, truth[:, k]) for k in range(truth.shape[1])], axis=1)


def lag_frames(output: np.ndarray, truth: np.ndarray, max_lag: float = 4.0, margin: int = 5) -> float:
    """The delay (frames, sub-frame; positive = the output is late) that best aligns ``output`` with the
    truth: argmin over s of sum |output(t) - c - truth(t - s)|^2, with c the best constant offset (a biased
    depth does not count as lag). Frames within ``margin`` of either end are left out."""
    out, ref = _as_track(output, "output"), _as_track(truth, "truth")
    if out.shape != ref.shape:
        raise ValueError(f"output and truth differ in shape: {out.shape} vs {ref.shape}")
    if len(out) <= 2 * margin + 2:
        raise ValueError(f"need more than {2 * margin + 2} frames, got {len(out)}")
    keep = slice(margin, len(out) - margin)

    def cost(s: float) -> float:
        d = out[keep] - _delayed(ref, s)[keep]
        d = d - d.mean(axis=0)
        return float((d * d).sum())

    best = 0.0
    for step, half in ((0.25, max_lag), (0.01, 0.25), (0.001, 0.01)):  # coarse to fine
        grid = best + np.arange(-half, half + step / 2, step)
        best = float(grid[int(np.argmin([cost(s) for s in grid]))])
    return best


def jitter(output: np.ndarray, truth: np.ndarray, dt: float) -> float:
    """Mean over frames of |output acceleration - true acceleration| (second differences / dt^2): m/s^2 for
    positions in metres."""
    out, ref = _as_track(output, "output"), _as_track(truth, "truth")
    if out.shape != ref.shape or len(out) < 3:
        raise ValueError(f"need equal shapes of at least 3 frames, got {out.shape} and {ref.shape}")
    acc = (np.diff(out, 2, axis=0) - np.diff(ref, 2, axis=0)) / dt**2
    return float(np.linalg.norm(acc, axis=1).mean())


def overshoot(output: np.ndarray, truth: np.ndarray, stop_frame: int, rest_frames: int = 15) -> float:
    """How far (same units as the input) the output passes its final rest position, along the direction the
    truth moved in before ``stop_frame``, after the stop. The rest position is the output's median over the
    last ``rest_frames`` (so a constant bias is not counted). 0 when it never passes it."""
    out, ref = _as_track(output, "output"), _as_track(truth, "truth")
    if not 0 < stop_frame < len(out) - rest_frames:
        raise ValueError(f"stop_frame must leave {rest_frames} frames after it, got {stop_frame} of {len(out)}")
    direction = ref[stop_frame] - ref[0]
    norm = float(np.linalg.norm(direction))
    if norm == 0.0:
        raise ValueError("the truth does not move before stop_frame")
    rest = np.median(out[-rest_frames:], axis=0)
    return float(max(0.0, ((out[stop_frame:] - rest) @ (direction / norm)).max()))


def _as_track(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite (T, D) track, got shape {a.shape}")
    return a
