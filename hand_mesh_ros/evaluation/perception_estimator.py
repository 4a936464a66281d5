"""The real pipeline as an evaluation estimator: MediaPipe-style perception + global positioning (DGP).

Per detected hand: the 21 landmark pixels (raw image) and the 21 world landmarks (metres, hand-centred, camera
orientation) go through :func:`dgp_hand_estimate`: the baseline the camera-space fit replaces ("MediaPipe's
world landmarks rescaled to a size + one DGP solve"). Use on the command line as ``--pipeline perception`` or
``--estimator hand_mesh_ros.evaluation.perception_estimator:make_estimator``; environment variables select
variants without code: ``HAND_MESH_ROS_EVAL_REFINE`` (1/0, default 0), ``HAND_MESH_ROS_EVAL_HAND_LENGTH_M``
(world landmarks rescaled so their joint chain matches this hand length on the open hand model; unset = the
network's own scale), ``HAND_MESH_ROS_EVAL_RECTIFY`` (off / full / roll).

Rectify (experiment): the landmark network is run a second time on a perspective-rectified crop of the same
hand region (``geometry.rectify``); 2D results are mapped back with the homography; the world landmarks are
rotated into the camera by the full virtual-to-real rotation ("full") or by the in-plane angle only ("roll",
what the affine crop path does).
"""

from __future__ import annotations

import os

import numpy as np

from hand_mesh_ros.evaluation.estimators import Estimator, HandEstimate, dgp_hand_estimate
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.rectify import rectified_crop, warp_rectified

RECTIFY_MODES = ("off", "full", "roll")


def make_estimator(refine: bool | None = None, hand_length_m: float | None = None, rectify: str | None = None,
                   static: bool = True, **perception_options: object) -> Estimator:
    """Build ``(image RGB, CameraModel) -> list[HandEstimate]`` around ``perception.HandPerception``."""
    from hand_mesh_ros.handmodel.factory import load_open_hand_data
    from hand_mesh_ros.handmodel.hand_length import chain_to_hand_length
    from hand_mesh_ros.perception.pipeline import HandPerception  # imported here: needs converted models

    if refine is None:
        refine = os.environ.get("HAND_MESH_ROS_EVAL_REFINE", "0") == "1"
    if hand_length_m is None and os.environ.get("HAND_MESH_ROS_EVAL_HAND_LENGTH_M"):
        hand_length_m = float(os.environ["HAND_MESH_ROS_EVAL_HAND_LENGTH_M"])
    chain_m = None if hand_length_m is None else hand_length_m / chain_to_hand_length(load_open_hand_data("right"))
    if rectify is None:
        rectify = os.environ.get("HAND_MESH_ROS_EVAL_RECTIFY", "off")
    if rectify not in RECTIFY_MODES:
        raise ValueError(f"rectify must be one of {RECTIFY_MODES}, got {rectify!r}")
    perception = HandPerception(**perception_options)
    landmarks = perception.landmark_model

    def rectified(image_rgb: np.ndarray, camera: CameraModel, cx: float, cy: float, size: float,
                  angle: float) -> tuple[np.ndarray, np.ndarray, float]:
        crop = rectified_crop(camera, (cx, cy), size, angle, out_size=landmarks.input_size)
        pixels = warp_rectified(image_rgb, camera, crop).astype(np.float32) * np.float32(1.0 / 255.0)
        out = landmarks.run(pixels[None])
        kp = camera.distort_points(crop.crop_to_real(out.landmarks[0][:, :2].astype(np.float64)))
        world = out.world[0].astype(np.float64)
        if rectify == "full":
            world = crop.points_to_real(world)
        else:
            c, s = np.cos(angle), np.sin(angle)
            world = np.column_stack([c * world[:, 0] - s * world[:, 1], s * world[:, 0] + c * world[:, 1],
                                     world[:, 2]])
        return kp, world, float(out.presence[0])

    def estimate(image_rgb: np.ndarray, camera: CameraModel) -> list[HandEstimate]:
        hands = perception.process(image_rgb, static=static)
        found = []
        for h in hands:
            kp, world, score = h.landmarks_px[:, :2], h.world_landmarks_m, float(h.presence)
            if rectify != "off":
                r = h.region
                kp, world, score = rectified(image_rgb, camera, r.cx, r.cy, r.w, r.angle)
            found.append(dgp_hand_estimate(camera, kp, world, score, chain_length_m=chain_m, refine=refine))
        return found

    return estimate
