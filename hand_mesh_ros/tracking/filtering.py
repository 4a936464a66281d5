"""Temporal filtering of one hand track: a predictive filter on the hand's image position, depth and joints.

The state is split by how well one camera measures it:

* the root joint's image position (normalised image coordinates x/z, y/z): measured to about a pixel;
* the root's depth z: the noisiest quantity (depth comes from the hand's apparent size; its noise is a fixed
  fraction of the depth);
* the joints relative to the root (metres, camera orientation).

Each part goes through a :class:`~.imm.ConstantVelocityIMM` (models from still to manoeuvre), so steady motion
passes with no lag, a still hand is smoothed hard, and sudden starts and stops are followed within a frame or
two. The camera-frame root is rebuilt as ``z * (x/z, y/z, 1)``: the well-measured image position is not
disturbed by depth noise. The measurement noise of each joint is divided by its confidence (a joint the fit
disagrees with is trusted less). Between measurements (a hand held through a short gap)
:meth:`HandTrackFilter.predict` carries the motion forward with a fading velocity.

Measured on rendered moving hands with exact ground truth by ``benchmarks/bench_temporal.py``, on the ASL video by
``benchmarks/bench_product_smoothing.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .imm import ConstantVelocityIMM

# The models' white accelerations (m/s^2), from still to manoeuvre: physical hand motion, not fitted to data. A
# hand held still drifts by centimetres per second squared; a hand sweeping at 1 m/s turns with ~10 m/s^2; a hand
# stopping dead decelerates far harder, which the manoeuvre model absorbs within a frame or two.
POSITION_ACCEL_M_S2 = (0.03, 0.5, 5.0, 30.0)  # the root's image position (scaled by 1 / depth)
DEPTH_ACCEL_M_S2 = (0.02, 0.2, 1.0, 5.0)  # the root's depth: slower models, the depth is noisy
JOINT_ACCEL_M_S2 = (0.03, 0.5, 10.0)  # joints relative to the root
MIN_JOINT_CONFIDENCE = 0.25  # the noise of a joint is divided by max(its confidence, this)


@dataclass(frozen=True, eq=False)
class HandState:
    """One hand at one instant. ``joints_rel`` (J, 3) m root-relative; ``translation`` (3,) m camera frame;
    ``keypoints_px`` (J, 2) image px or None. Camera-frame joints are ``joints_rel + translation``."""

    joints_rel: np.ndarray
    translation: np.ndarray
    keypoints_px: np.ndarray | None = None

    @property
    def joints_cam(self) -> np.ndarray:
        return self.joints_rel + self.translation


@dataclass(frozen=True)
class TrackFilterParams:
    """Measurement noise of the filter (larger = smoother, slower to believe a change).

    position_noise_px: the root's image position, pixels; depth_noise_ratio: the root's depth, as a fraction
    of the depth; joint_noise_m: each root-relative joint, metres; max_gap_s: a longer gap between samples
    restarts the filter; prediction_damping_s: time constant with which a prediction's velocity fades, s.
    """

    position_noise_px: float = 1.0
    depth_noise_ratio: float = 0.02
    joint_noise_m: float = 0.003
    max_gap_s: float = 0.5
    prediction_damping_s: float = 0.1

    def __post_init__(self) -> None:
        for name in ("position_noise_px", "depth_noise_ratio", "joint_noise_m", "max_gap_s",
                     "prediction_damping_s"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive, got {value}")


class HandTrackFilter:
    """Filters the :class:`HandState` stream of one track, driven by image stamps (seconds)."""

    def __init__(self, params: TrackFilterParams | None = None) -> None:
        self.params = params or TrackFilterParams()
        gap = self.params.max_gap_s
        self._image = ConstantVelocityIMM(POSITION_ACCEL_M_S2, gap)
        self._depth = ConstantVelocityIMM(DEPTH_ACCEL_M_S2, gap)
        self._joints = ConstantVelocityIMM(JOINT_ACCEL_M_S2, gap)

    @property
    def initialised(self) -> bool:
        return self._joints.initialised

    def reset(self) -> None:
        for f in (self._image, self._depth, self._joints):
            f.reset()

    def __call__(self, stamp_s: float, state: HandState, focal_px: float,
                 joint_confidences: np.ndarray | None = None) -> HandState:
        """Filter one measured state. ``focal_px``: the camera's focal length in pixels (converts the position
        noise to normalised units); ``joint_confidences`` (J,) in [0, 1] or None (all 1). ``keypoints_px``
        passes through unchanged. Raises ValueError for bad shapes or a root at or behind the camera."""
        t = np.asarray(state.translation, dtype=np.float64)
        if t.shape != (3,):
            raise ValueError(f"translation must have shape (3,), got {t.shape}")
        rel = np.asarray(state.joints_rel, dtype=np.float64)
        if rel.ndim != 2 or rel.shape[-1] != 3:
            raise ValueError(f"joints_rel must have shape (J, 3), got {rel.shape}")
        if not (np.isfinite(t[2]) and t[2] > 0):
            raise ValueError(f"the root must lie in front of the camera (z > 0), got z = {t[2]}")
        if not (np.isfinite(focal_px) and focal_px > 0):
            raise ValueError(f"focal_px must be positive, got {focal_px}")
        conf = np.ones(rel.shape[0]) if joint_confidences is None else np.asarray(joint_confidences, np.float64)
        if conf.shape != (rel.shape[0],):
            raise ValueError(f"joint_confidences must have shape ({rel.shape[0]},), got {conf.shape}")
        p = self.params
        depth_before = self._depth.estimate()[0][0] if self._depth.initialised else t[2]
        z = self._depth(stamp_s, t[2:], p.depth_noise_ratio * depth_before)[0]
        uv = self._image(stamp_s, t[:2] / t[2], p.position_noise_px / focal_px, accel_scale=1.0 / depth_before)
        sigma = p.joint_noise_m / np.maximum(np.nan_to_num(conf), MIN_JOINT_CONFIDENCE)
        joints = self._joints(stamp_s, rel.reshape(-1), np.repeat(sigma, 3)).reshape(rel.shape)
        return HandState(joints, np.array([uv[0] * z, uv[1] * z, z]), state.keypoints_px)

    def predict(self, stamp_s: float) -> HandState | None:
        """The state expected at ``stamp_s`` from the motion so far (velocities fading with
        ``prediction_damping_s``), or None before the first sample. Does not change the filter."""
        if not self.initialised:
            return None
        tau = self.params.prediction_damping_s
        z = self._depth.predict(stamp_s, tau)[0]
        uv = self._image.predict(stamp_s, tau)
        joints = self._joints.predict(stamp_s, tau).reshape(-1, 3)
        return HandState(joints, np.array([uv[0] * z, uv[1] * z, z]))
