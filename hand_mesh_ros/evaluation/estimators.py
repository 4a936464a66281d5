"""Estimators for the evaluation command: ``(image RGB, CameraModel) -> list[HandEstimate]``.

To evaluate a real pipeline, write a function with that signature (or wrap the pipeline with
:func:`dgp_hand_estimate`, which turns per-hand 2D keypoints + root-relative metric 3D joints into a
camera-space hand through the global positioning solve)
and pass it to :func:`hand_mesh_ros.evaluation.evaluate.evaluate`.

:class:`OracleEstimator` checks the evaluation path itself: it takes the ground truth of the current sample,
projects it to 2D (optionally with pixel noise), perturbs the root-relative 3D joints with Gaussian noise
(millimetres) and recovers the camera-space hand with the same DGP code as the real pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hand_mesh_ros.evaluation.crop_dataset import HandgraphSample
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.dgp import DGPStatus, locate_hand
from hand_mesh_ros.handmodel.hand_length import joint_chain_length


@dataclass(frozen=True, eq=False)
class HandEstimate:
    """One estimated hand: ``joints_cam_m`` (21, 3) metres, camera optical frame; ``keypoints_px`` (21, 2) raw
    image pixels; ``score`` in [0, 1]; ``status`` the DGP status (0 = OK); ``landmarks_px`` (21, 2) the 2D
    keypoints the network detected (when the estimate is not their own projection), for the shape ceiling."""

    joints_cam_m: np.ndarray
    keypoints_px: np.ndarray
    score: float = 1.0
    status: int = int(DGPStatus.OK)
    landmarks_px: np.ndarray | None = None


Estimator = Callable[[np.ndarray, CameraModel], list[HandEstimate]]


def dgp_hand_estimate(camera: CameraModel, keypoints_px: np.ndarray, joints_rel_m: np.ndarray,
                      score: float = 1.0, weights: np.ndarray | None = None,
                      chain_length_m: float | None = None, refine: bool = False) -> HandEstimate:
    """2D keypoints (21, 2) raw px + root-relative 3D joints (21, 3) m (camera orientation) -> HandEstimate.

    ``chain_length_m`` rescales the 3D joints so that their wrist -> middle fingertip joint chain has that
    length (``handmodel.hand_length.joint_chain_length``); None keeps their own scale. ``weights`` (21,) per
    joint, None = uniform.
    """
    joints = np.asarray(joints_rel_m, dtype=np.float64)
    if joints.shape != (21, 3):
        raise ValueError(f"joints_rel_m must be (21, 3) metres, got {joints.shape}")
    if chain_length_m is not None:
        chain = float(joint_chain_length(joints))
        if not chain_length_m > 0 or chain < 1e-6:
            raise ValueError(f"cannot rescale joints with chain {chain} m to {chain_length_m} m")
        joints = joints * (chain_length_m / chain)
    res = locate_hand(camera, keypoints_px, joints, weights, refine=refine)
    return HandEstimate(joints + res.translation[0], np.asarray(keypoints_px, dtype=np.float64), float(score),
                        int(res.status[0]))


class OracleEstimator:
    """Ground truth + noise through the real DGP path (self-check of the evaluation; not a real estimator).

    ``noise_mm``: sd of isotropic Gaussian noise on each root-relative 3D joint, mm. ``px_noise``: sd of the
    2D keypoint noise, px. Call :meth:`prepare` with the sample before calling the estimator on its image.
    """

    def __init__(self, noise_mm: float = 0.0, px_noise: float = 0.0, refine: bool = False,
                 seed: int = 0) -> None:
        if noise_mm < 0 or px_noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise_mm} mm, {px_noise} px")
        self.noise_mm = float(noise_mm)
        self.px_noise = float(px_noise)
        self.refine = refine
        self._rng = np.random.default_rng(seed)
        self._sample: HandgraphSample | None = None

    def prepare(self, sample: HandgraphSample) -> None:
        self._sample = sample

    def __call__(self, image_rgb: np.ndarray, camera: CameraModel) -> list[HandEstimate]:
        if self._sample is None:
            raise RuntimeError("OracleEstimator.prepare(sample) must be called before each image")
        gt = self._sample.joints_cam_m
        kp = camera.project(gt) + self._rng.normal(0.0, self.px_noise, (21, 2))
        rel = gt - gt[0] + self._rng.normal(0.0, self.noise_mm / 1000.0, (21, 3))
        return [dgp_hand_estimate(camera, kp, rel, refine=self.refine)]
