"""Temporal smoothing of one hand track: joints, translation and 2D keypoints with separate One Euro filters.

The root-relative joints (metres, camera orientation) and the 2D keypoints (pixels) are smoothed lightly; the
translation (metres, camera optical frame) gets a stronger filter because its depth is the noisiest quantity
(a 1 px error in hand size becomes centimetres of depth). Call ``reset()`` when the track is lost.

Optionally (``root_joint`` set) the hand is re-rooted at that joint before filtering, so the translation
filter smooths that joint's camera-frame position; the output is then rooted there
(``joints_rel[root_joint] == 0``).
On the ASL reference the default (no re-rooting: joints and translation filtered as given) smooths better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hand_mesh_ros.tracking.one_euro import OneEuroFilter, OneEuroParams

# Tuned by grid search on the ASL reference video (25 fps), benchmarks/bench_geometry_smoothing.py: wrist
# acceleration 3.7x lower at 0.8 frame lag. Lighter joint filters cut the lag of finger motion (2 frames here)
# at the cost of jitter; see docs/camera_space.md.
DEFAULT_JOINTS = OneEuroParams(min_cutoff=1.0, beta=2.0, d_cutoff=1.0)  # signal in metres
DEFAULT_TRANSLATION_XY = OneEuroParams(min_cutoff=1.0, beta=1.0, d_cutoff=1.0)  # metres
DEFAULT_TRANSLATION_Z = OneEuroParams(min_cutoff=1.0, beta=5.0, d_cutoff=1.0)  # metres
DEFAULT_KEYPOINTS = OneEuroParams(min_cutoff=1.5, beta=0.02, d_cutoff=1.0)  # pixels


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
    joints: OneEuroParams = DEFAULT_JOINTS
    translation_xy: OneEuroParams = DEFAULT_TRANSLATION_XY
    translation_z: OneEuroParams = DEFAULT_TRANSLATION_Z
    keypoints: OneEuroParams = DEFAULT_KEYPOINTS
    max_gap_s: float = 0.5
    root_joint: int | None = None


class HandTrackFilter:
    """Smooths the :class:`HandState` stream of one track, driven by image stamps (seconds)."""

    def __init__(self, params: TrackFilterParams | None = None) -> None:
        self.params = params or TrackFilterParams()
        p = self.params
        self._joints = OneEuroFilter(p.joints, p.max_gap_s)
        self._txy = OneEuroFilter(p.translation_xy, p.max_gap_s)
        self._tz = OneEuroFilter(p.translation_z, p.max_gap_s)
        self._kp = OneEuroFilter(p.keypoints, p.max_gap_s)

    def reset(self) -> None:
        for f in (self._joints, self._txy, self._tz, self._kp):
            f.reset()

    def __call__(self, stamp_s: float, state: HandState) -> HandState:
        t = np.asarray(state.translation, dtype=np.float64)
        if t.shape != (3,):
            raise ValueError(f"translation must have shape (3,), got {t.shape}")
        rel = np.asarray(state.joints_rel, dtype=np.float64)
        if rel.ndim != 2 or rel.shape[-1] != 3:
            raise ValueError(f"joints_rel must have shape (J, 3), got {rel.shape}")
        if self.params.root_joint is not None:
            if not 0 <= self.params.root_joint < rel.shape[0]:
                raise ValueError(f"root_joint {self.params.root_joint} out of range for {rel.shape[0]} "
                                 "joints")
            root = rel[self.params.root_joint]
            t = t + root
            rel = rel - root
        joints = self._joints(stamp_s, rel)
        txy = self._txy(stamp_s, t[:2])
        tz = self._tz(stamp_s, t[2:])
        kp = None if state.keypoints_px is None else self._kp(stamp_s, state.keypoints_px)
        return HandState(joints, np.concatenate([txy, tz]), kp)
