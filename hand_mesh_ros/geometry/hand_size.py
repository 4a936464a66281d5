"""Hand size: the one number that fixes absolute depth from a single camera.

The global positioning equations are homogeneous in (joints, translation): scaling the root-relative joints
by ``s`` scales the solved translation, and so the depth, by exactly ``s``. A 5 % size error is a 5 % depth
error (about 25 mm at 0.5 m). The size used therefore matters more than any other parameter.

Definition used here (``palm_size``): the mean of the four wrist -> MCP distances (joints 0->5, 0->9, 0->13,
0->17 in MediaPipe order), metres. It uses only palm joints, which move rigidly, so it does not change with
finger pose. Measured values: MediaPipe world landmarks on the ASL reference video 0.096 m (sd 0.004); the
annotations of handgraph_dev 0.080 m (sd 0.005, a different person and wrist definition).
``DEFAULT_PALM_SIZE_M`` = 0.090 m sits between them; set the real user's value when known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WRIST = 0
MCP_JOINTS = (5, 9, 13, 17)
DEFAULT_PALM_SIZE_M = 0.090


def palm_size(joints: np.ndarray) -> np.ndarray:
    """Mean wrist->MCP distance of joints (..., 21, 3) in their own units (metres for metric joints)."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim < 2 or j.shape[-2:] != (21, 3):
        raise ValueError(f"joints must have shape (..., 21, 3), got {j.shape}")
    d = np.linalg.norm(j[..., MCP_JOINTS, :] - j[..., WRIST : WRIST + 1, :], axis=-1)
    return d.mean(-1)


def rescale_to_size(joints_rel: np.ndarray, target_palm_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale root-relative joints (..., 21, 3) so their palm size equals ``target_palm_m``.

    Returns ``(scaled_joints, factor)``; factor (...,) is target / current (NaN where the palm size is ~0).
    """
    if not np.isfinite(target_palm_m) or target_palm_m <= 0:
        raise ValueError(f"target palm size must be a positive number of metres, got {target_palm_m}")
    size = palm_size(joints_rel)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(size > 1e-6, target_palm_m / size, np.nan)
    return np.asarray(joints_rel, dtype=np.float64) * factor[..., None, None], factor


@dataclass
class HandSizeEstimator:
    """Per-track palm size: a fixed reference, or learned online from confident frames and then locked.

    ``mode="fixed"``: always ``reference_m``. ``mode="online"``: the median of the palm sizes of frames with
    confidence >= ``min_confidence`` (e.g. from the network's metric world landmarks); ``reference_m`` is used
    until ``lock_after`` such frames were seen, then the median is frozen so depth stops breathing with the
    network's per-frame scale noise. ``reset()`` on track loss.
    """

    mode: str = "fixed"
    reference_m: float = DEFAULT_PALM_SIZE_M
    lock_after: int = 30
    min_confidence: float = 0.6
    _samples: list[float] = field(default_factory=list)
    _locked: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("fixed", "online"):
            raise ValueError(f"mode must be 'fixed' or 'online', got {self.mode!r}")
        if not np.isfinite(self.reference_m) or self.reference_m <= 0:
            raise ValueError(f"reference_m must be positive metres, got {self.reference_m}")
        if self.lock_after < 1:
            raise ValueError(f"lock_after must be >= 1, got {self.lock_after}")

    @property
    def locked(self) -> bool:
        return self._locked is not None

    @property
    def size_m(self) -> float:
        """Palm size to use now, metres."""
        if self.mode == "fixed":
            return self.reference_m
        if self._locked is not None:
            return self._locked
        return self.reference_m

    def update(self, measured_palm_m: float, confidence: float) -> float:
        """Feed one frame's measured palm size (metres) and confidence; returns the size to use now."""
        if self.mode == "online" and self._locked is None and np.isfinite(measured_palm_m) \
                and measured_palm_m > 0 and confidence >= self.min_confidence:
            self._samples.append(float(measured_palm_m))
            if len(self._samples) >= self.lock_after:
                self._locked = float(np.median(self._samples))
        return self.size_m

    def reset(self) -> None:
        self._samples.clear()
        self._locked = None
