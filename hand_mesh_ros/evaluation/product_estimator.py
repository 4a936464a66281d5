"""The product path as an evaluation estimator: ``reconstruction.HandReconstructor`` on unrelated images.

Each image is treated as the first frame of a new stream: ``reset()`` then ``process()`` with the built-in
palm detector and smoothing off, so the figures are those of one frame of the live node (no filter, no hold,
no online size or shape calibration beyond that frame). Use on the command line as

    python -m hand_mesh_ros.evaluation.evaluate --data ../shared/data/handgraph_dev --pipeline product

or ``--estimator hand_mesh_ros.evaluation.product_estimator:make_estimator``. Environment variables pick
variants without code: ``HAND_MESH_ROS_EVAL_OUTPUT`` (``joints``: the published ``hand.joints``, default;
``model``: the keypoints of the hand model fitted to them), ``HAND_MESH_ROS_EVAL_PALM_M`` (palm size in
metres; unset = the config default).
"""

from __future__ import annotations

import os

import numpy as np

from hand_mesh_ros.evaluation.estimators import Estimator, HandEstimate
from hand_mesh_ros.geometry.camera import CameraModel

OUTPUTS = ("joints", "model")


class ProductEstimator:
    """``(image RGB uint8, CameraModel) -> list[HandEstimate]`` through :class:`HandReconstructor`.

    ``output``: ``"joints"`` scores ``hand.joints`` (metres, camera frame) with ``hand.joints_px``;
    ``"model"`` scores the fitted hand model's 21 keypoints (the raw fit of this frame, read from the
    reconstructor's track) with their projection. ``config_overrides`` go to ``ReconstructionConfig``
    (``smoothing`` is always False here).
    """

    def __init__(self, output: str = "joints", **config_overrides: object) -> None:
        from hand_mesh_ros.reconstruction.config import ReconstructionConfig
        from hand_mesh_ros.reconstruction.reconstructor import HandReconstructor

        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if config_overrides.get("smoothing", False):
            raise ValueError("the product estimator evaluates single images: smoothing must stay off")
        config_overrides["smoothing"] = False
        self.output = output
        self.reconstructor = HandReconstructor(ReconstructionConfig(**config_overrides))  # type: ignore[arg-type]

    def model_keypoints(self, track_id: int) -> np.ndarray | None:
        """(21, 3) metres: keypoints of this frame's hand-model fit of track ``track_id`` (None if none)."""
        for track in self.reconstructor.tracks:
            if track.track_id == track_id and track.fit is not None:
                return np.asarray(track.fit.keypoints[0].detach().cpu().double().numpy())
        return None

    def __call__(self, image_rgb: np.ndarray, camera: CameraModel) -> list[HandEstimate]:
        rec = self.reconstructor
        rec.reset()
        frame = rec.process(image_rgb, camera, 0.0)
        out: list[HandEstimate] = []
        for hand in frame.hands:
            if hand.held:  # cannot happen after reset(); kept so a change of the core shows up as a miss
                continue
            joints = np.asarray(hand.joints, dtype=np.float64)
            px = np.asarray(hand.joints_px, dtype=np.float64)
            if self.output == "model":
                fitted = self.model_keypoints(hand.track_id)
                if fitted is None:
                    continue
                joints, px = fitted, camera.project(fitted)
            out.append(HandEstimate(joints, px, float(hand.confidence)))
        return out


def make_estimator(output: str | None = None, palm_size_m: float | None = None,
                   **config_overrides: object) -> Estimator:
    """Build the product estimator; arguments left None come from the environment (see module docstring)."""
    if output is None:
        output = os.environ.get("HAND_MESH_ROS_EVAL_OUTPUT", "joints")
    if palm_size_m is None and os.environ.get("HAND_MESH_ROS_EVAL_PALM_M"):
        palm_size_m = float(os.environ["HAND_MESH_ROS_EVAL_PALM_M"])
    if palm_size_m is not None:
        config_overrides["hand_size_m"] = palm_size_m
    return ProductEstimator(output, **config_overrides)
