"""Smoothing check on the ASL reference video: DGP + track filter on MediaPipe's own per-frame outputs.

Input: ``mediapipe_reference/asl_hand.full.json`` (21 x [x_px, y_px, z] per frame) and
``asl_hand_3d.full.json`` (21 world landmarks, metres) of the 620x1080, 25 fps video. Intrinsics are not
known; we assume a pinhole with f = image height (1080 px) and the principal point at the image centre.

Prints, for the wrist position in the camera frame (metres):
* the mean frame-to-frame acceleration norm |x[t+1] - 2 x[t] + x[t-1]|, unfiltered vs filtered;
* the lag (frames) of the filtered track: the time shift that best aligns it with a zero-phase reference
  (the raw track smoothed by a symmetric Gaussian kernel, which delays nothing).
Also the DGP timing per frame. Run: ``python benchmarks/bench_geometry_smoothing.py [--data DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hand_mesh_ros.evaluation.temporal import lag_frames
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.dgp import locate_hand
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.tracking.filtering import HandState, HandTrackFilter, TrackFilterParams

FPS = 25.0
FOCAL_PX = 1080.0  # assumed: f = image height


def mean_acceleration(x: np.ndarray) -> float:
    """Mean norm of the second difference of a (T, 3) track, in the track's units per frame^2."""
    return float(np.linalg.norm(np.diff(x, 2, axis=0), axis=-1).mean())


def zero_phase_reference(x: np.ndarray, sigma_frames: float = 2.0) -> np.ndarray:
    """Gaussian smoothing of a (T, D) track with a symmetric kernel (no delay); edges padded by reflection."""
    r = int(np.ceil(3 * sigma_frames))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_frames) ** 2)
    k /= k.sum()
    pad = np.pad(x, ((r, r), (0, 0)), mode="reflect")
    return np.stack([np.convolve(pad[:, i], k, mode="valid") for i in range(x.shape[1])], axis=1)


def run_states(joints: np.ndarray, trans: np.ndarray,
               params: TrackFilterParams | None = None) -> list[HandState]:
    """Filtered hand states, one per frame (stamps i / FPS seconds)."""
    filt = HandTrackFilter(params)
    return [filt(i / FPS, HandState(joints[i], trans[i]), FOCAL_PX) for i in range(len(joints))]


def run_filter(joints: np.ndarray, trans: np.ndarray, params: TrackFilterParams | None = None) -> np.ndarray:
    """Filtered camera-frame wrist track (T, 3), metres."""
    return np.asarray([s.joints_cam[0] for s in run_states(joints, trans, params)])


def load(data: Path) -> tuple[np.ndarray, np.ndarray]:
    ref = data / "mediapipe_reference"
    kp = np.asarray(json.loads((ref / "asl_hand.full.json").read_text()), dtype=np.float64)[..., :2]
    world = np.asarray(json.loads((ref / "asl_hand_3d.full.json").read_text()), dtype=np.float64)
    return kp, world


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = data_dir()
    ap.add_argument("--data", type=Path, default=default_data)
    args = ap.parse_args()
    if not (args.data / "mediapipe_reference" / "asl_hand.full.json").exists():
        print(f"reference data not found under {args.data}", file=sys.stderr)
        return 1
    kp, world = load(args.data)
    cam = CameraModel.pinhole(620, 1080, FOCAL_PX, cx=310.0, cy=540.0)
    t0 = time.perf_counter()
    res = [locate_hand(cam, kp[i], world[i]) for i in range(len(kp))]
    dt_ms = (time.perf_counter() - t0) * 1000 / len(kp)
    trans = np.concatenate([r.translation for r in res])
    status = np.concatenate([r.status for r in res])
    rms = np.concatenate([r.reprojection_rms for r in res])
    raw = trans + world[:, 0]
    filt = run_filter(world, trans)
    acc_raw, acc_f = mean_acceleration(raw), mean_acceleration(filt)
    ref = zero_phase_reference(raw)
    lag_f = lag_frames(filt, ref)
    lag_raw = lag_frames(raw, ref)
    print(f"frames: {len(kp)}  DGP (linear, with undistortion) per hand: {dt_ms:.3f} ms  status!=OK: "
          f"{int((status != 0).sum())}  reprojection RMS mean {rms.mean():.2f} px")
    print(f"wrist depth: mean {raw[:, 2].mean():.3f} m  frame-to-frame depth step sd "
          f"{np.diff(raw[:, 2]).std() * 1000:.1f} mm (raw) / "
          f"{np.diff(filt[:, 2]).std() * 1000:.1f} mm (filtered)")
    print(f"wrist mean acceleration: raw {acc_raw * 1000:.2f} mm/frame^2, filtered {acc_f * 1000:.2f} "
          f"mm/frame^2, ratio {acc_raw / acc_f:.2f}x")
    print(f"lag vs zero-phase reference: filtered {lag_f:.2f} frames, raw {lag_raw:.2f} frames")
    # finger motion relative to the wrist (index tip), through the joint filter
    filt_states = run_states(world, trans)
    tip_raw = world[:, 8] - world[:, 0]
    tip_f = np.array([s.joints_rel[8] - s.joints_rel[0] for s in filt_states])
    ratio_tip = mean_acceleration(tip_raw) / mean_acceleration(tip_f)
    print(f"index tip relative to wrist: acceleration ratio {ratio_tip:.2f}x, "
          f"lag {lag_frames(tip_f, zero_phase_reference(tip_raw)):.2f} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
