"""The product path as an evaluation estimator: ``reconstruction.HandReconstructor`` on unrelated images.

Each image goes through ``process_image()`` (the built-in palm detector on the whole image, no tracking, no
filter, no hold, a cold start of the camera-space fit), so the figures are those of the live node's first
frame of a stream. Use on the command line as

    python -m hand_mesh_ros.evaluation.evaluate --data ../shared/data/handgraph_dev --pipeline product

or ``--estimator hand_mesh_ros.evaluation.product_estimator:make_estimator``; the environment variable
``HAND_MESH_ROS_EVAL_HAND_LENGTH_M`` (metres) then sets the hand length (unset: the config default).
"""

from __future__ import annotations

import os

import numpy as np

from hand_mesh_ros.evaluation.estimators import Estimator, HandEstimate
from hand_mesh_ros.geometry.camera import CameraModel


class ProductEstimator:
    """``(image RGB uint8, CameraModel) -> list[HandEstimate]`` through :class:`HandReconstructor`.

    Scores ``hand.joints`` (metres, camera frame) with ``hand.joints_px``, and passes the network's own 2D
    keypoints on as ``landmarks_px``. ``config_overrides`` go to ``ReconstructionConfig`` (e.g.
    ``hand_length_m``; ``smoothing`` is always False here).
    """

    def __init__(self, **config_overrides: object) -> None:
        from hand_mesh_ros.reconstruction.config import ReconstructionConfig
        from hand_mesh_ros.reconstruction.reconstructor import HandReconstructor

        if config_overrides.get("smoothing", False):
            raise ValueError("the product estimator evaluates single images: smoothing must stay off")
        config_overrides["smoothing"] = False
        # ReconstructionConfig names the replacement of a removed setting (e.g. hand_size_m -> hand_length_m)
        self.reconstructor = HandReconstructor(ReconstructionConfig(**config_overrides))  # type: ignore[arg-type]

    def __call__(self, image_rgb: np.ndarray, camera: CameraModel) -> list[HandEstimate]:
        frame = self.reconstructor.process_image(image_rgb, camera)
        return [HandEstimate(np.asarray(h.joints, dtype=np.float64), np.asarray(h.joints_px, dtype=np.float64),
                             float(h.confidence), landmarks_px=np.asarray(h.keypoints_px, dtype=np.float64))
                for h in frame.hands]  # process_image never holds a hand


def make_estimator(hand_length_m: float | None = None, **config_overrides: object) -> Estimator:
    """Build the product estimator; ``hand_length_m`` None: ``HAND_MESH_ROS_EVAL_HAND_LENGTH_M`` or the default."""
    if hand_length_m is None and os.environ.get("HAND_MESH_ROS_EVAL_HAND_LENGTH_M"):
        hand_length_m = float(os.environ["HAND_MESH_ROS_EVAL_HAND_LENGTH_M"])
    if hand_length_m is not None:
        config_overrides["hand_length_m"] = hand_length_m
    return ProductEstimator(**config_overrides)
