"""Joint limits and a pose prior in each joint's anatomical frame, plus a sampler of plausible poses.

A local rotation vector theta_j (MANO order, canonical rest axes) is expressed in the joint's rest frame
``bone_frames[j]`` as a = F_j^T theta_j: a[0] twist about the bone, a[1] flexion (positive curls towards the
palm for both hands), a[2] abduction/adduction about the back-of-hand normal. Angles in radians.
On a left hand the twist and abduction axes are mirrored (``side_signs``); the limits are symmetric in
both, so the fitter can use them unsigned.
"""

from __future__ import annotations

import numpy as np

from .constants import JOINT_KIND, NUM_JOINTS, check_side
from .rotations import log_small

# (low, high) per anatomical component (twist, flex, abduction), radians.
LIMITS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "mcp": ((-0.25, 0.25), (-0.45, 1.65), (-0.45, 0.45)),
    "pip": ((-0.15, 0.15), (-0.10, 1.90), (-0.15, 0.15)),
    "dip": ((-0.15, 0.15), (-0.20, 1.50), (-0.15, 0.15)),
    "thumb_cmc": ((-0.60, 0.60), (-0.60, 1.00), (-0.80, 0.80)),
    "thumb_mcp": ((-0.30, 0.30), (-0.30, 1.00), (-0.30, 0.30)),
    "thumb_ip": ((-0.15, 0.15), (-0.30, 1.40), (-0.15, 0.15)),
}
# Standard deviation of the weak pose prior (towards zero) per component, radians.
PRIOR_SIGMA: dict[str, tuple[float, float, float]] = {
    "mcp": (0.25, 1.5, 0.5),
    "pip": (0.2, 1.5, 0.2),
    "dip": (0.2, 1.5, 0.2),
    "thumb_cmc": (0.6, 1.0, 0.8),
    "thumb_mcp": (0.3, 1.0, 0.4),
    "thumb_ip": (0.2, 1.5, 0.2),
}


def limit_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(15, 3) low, (15, 3) high and (15, 3) prior sigma for joints 1-15, anatomical components."""
    kinds = JOINT_KIND[1:]
    lo = np.array([[c[0] for c in LIMITS[k]] for k in kinds])
    hi = np.array([[c[1] for c in LIMITS[k]] for k in kinds])
    sigma = np.array([PRIOR_SIGMA[k] for k in kinds])
    return lo, hi, sigma


def random_plausible_pose(
    bone_frames: np.ndarray, batch: int, rng: np.random.Generator, fraction: float = 0.8, side: str = "right"
) -> np.ndarray:
    """(batch, 45) random hand poses (axis-angle, MANO order) uniform within ``fraction`` of the limits.

    Flexion is drawn from [low, low + fraction * (high - low)] so hands are not all fists; twist and
    abduction from the centred ``fraction`` of their range.
    """
    if bone_frames.shape != (NUM_JOINTS, 3, 3):
        raise ValueError(f"bone_frames must be (16, 3, 3), got {bone_frames.shape}")
    lo, hi, _ = limit_arrays()
    mid = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo) * fraction
    u = rng.uniform(-1.0, 1.0, size=(batch, 15, 3))
    anat = mid + half * u
    flex_u = rng.uniform(0.0, 1.0, size=(batch, 15))
    anat[:, :, 1] = lo[:, 1] + fraction * (hi[:, 1] - lo[:, 1]) * flex_u
    return pose_from_anatomical(bone_frames, anat, side)


def side_signs(side: str) -> np.ndarray:
    """Signs making anatomical angles mirror-consistent (a left hand's twist and abduction are mirrored)."""
    return np.array([1.0, 1.0, 1.0]) if check_side(side) == "right" else np.array([-1.0, 1.0, -1.0])


def pose_from_anatomical(bone_frames: np.ndarray, anat: np.ndarray, side: str = "right") -> np.ndarray:
    """(..., 15, 3) anatomical angles (twist, flex, abduction; radians) -> (..., 45) axis-angle hand pose.

    The same angles give mirror-image poses on the two sides (positive abduction spreads towards the thumb).
    """
    anat = np.asarray(anat, dtype=np.float64)
    if anat.shape[-2:] != (15, 3):
        raise ValueError(f"anatomical angles must have shape (..., 15, 3), got {anat.shape}")
    theta = np.einsum("jxa,...ja->...jx", bone_frames[1:], anat * side_signs(side))
    return theta.reshape(*anat.shape[:-2], 45)


class PosePrior:
    """The weak pose prior (towards the flat hand, :data:`PRIOR_SIGMA`) and soft joint limits (:data:`LIMITS`,
    violations weighed by ``1 / limit_sigma^2``) of joints 1-15 as least-squares terms of a fit.

    Both fits use it on the same parameter layout: local rotation increments of joints 0-15 (3 each, MANO
    order), so joints 1-15 are parameters 3..47. ``bone_frames`` (16, 3, 3): the model's rest anatomical frames.
    """

    def __init__(self, bone_frames: np.ndarray, limit_sigma: float = 0.02) -> None:
        if bone_frames.shape != (NUM_JOINTS, 3, 3):
            raise ValueError(f"bone_frames must be (16, 3, 3), got {bone_frames.shape}")
        if limit_sigma <= 0:
            raise ValueError(f"limit_sigma must be > 0, got {limit_sigma}")
        lo, hi, sigma = limit_arrays()
        self.frames = np.asarray(bone_frames[1:], dtype=np.float64)  # (15, 3, 3)
        self.frames_t = np.ascontiguousarray(self.frames.swapaxes(1, 2))
        blocks = self.frames @ (sigma[:, :, None] ** -2 * np.eye(3)) @ self.frames_t  # (15, 3, 3)
        self._eye15 = np.eye(15).reshape(15, 1, 15, 1)  # block-diagonal scatter over joints
        self.hessian = (blocks[:, :, None, :] * self._eye15).reshape(45, 45)  # constant: the prior
        self.lo, self.hi = lo[..., None], hi[..., None]  # (15, 3, 1)
        self.limit_w2 = 1.0 / limit_sigma**2

    def _violation(self, theta: np.ndarray) -> np.ndarray:
        anat = self.frames_t @ theta[..., None]  # (B, 15, 3, 1) anatomical angles
        return anat - np.minimum(np.maximum(anat, self.lo), self.hi)

    def cost(self, rot: np.ndarray) -> np.ndarray:
        """(B,) prior plus limit cost of local rotations (B, 16, 3, 3)."""
        theta = log_small(rot[:, 1:])
        flat = theta.reshape(len(rot), 45)
        return ((flat @ self.hessian) * flat).sum(1) + self.limit_w2 * (self._violation(theta) ** 2).sum((1, 2, 3))

    def add_normal_equations(self, rot: np.ndarray, hess: np.ndarray, grad: np.ndarray) -> None:
        """Add the Gauss-Newton terms at ``rot`` to ``hess`` (B, P, P) and ``grad`` (B, P) in place."""
        b = len(rot)
        theta = log_small(rot[:, 1:])
        hess[:, 3:48, 3:48] += self.hessian
        grad[:, 3:48] += theta.reshape(b, 45) @ self.hessian
        viol = self._violation(theta)
        if np.any(viol != 0.0):  # usually no limit is active: skip the work
            hb = (self.frames * ((viol[..., 0] != 0) * self.limit_w2)[:, :, None, :]) @ self.frames_t
            hess[:, 3:48, 3:48] += (hb[:, :, :, None, :] * self._eye15).reshape(b, 45, 45)
            grad[:, 3:48] += (self.frames @ (self.limit_w2 * viol)).reshape(b, 45)
