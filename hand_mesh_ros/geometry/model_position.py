"""Second global positioning pass on the fitted hand model's keypoints.

The first pass places the network's root-relative world landmarks (rescaled to the palm size) in the camera.
The hand model fitted to them is a cleaner shape: bone lengths fixed by the model, joint limits respected,
the network's per-frame distortions of the skeleton removed. Positioning that shape again against the same
2D keypoints gives a better translation. On handgraph_dev (product path, one image at a time, parameters
chosen on images 0-49) camera-space MPJPE on the held-out images 50-99 went from 27.5 / 25.5 mm (mean /
median) to 24.7 / 20.8 mm, and from 22.9 / 22.1 to 19.8 / 15.9 mm on all 100; see docs/camera_space.md.

Two details matter:

* **Fixed size.** The fit's own size drifts from frame to frame with its shape parameters (sd 1.2 % on
  handgraph_dev, about 5 mm of depth at 0.43 m). The model keypoints are therefore rescaled so their palm
  size (mean wrist->MCP distance) is exactly ``palm_size_m``, the reconstructor's ``hand_size_m``: the
  published hand has the configured size. The model's palm is measured on its own keypoints, which sit
  a little differently from the landmark network's (the open hand model fitted to landmarks with a 0.090 m
  palm has a 0.088 m palm on handgraph_dev, 0.085 m on the gesture photos); the configured size refers to
  the published model.
* **Per-joint weights.** ``FITTED_JOINT_WEIGHTS`` are inverse variances of the positioning residual per joint
  group (wrist, thumb, MCPs, PIPs, DIPs, tips), measured on handgraph_dev images 0-49 at the true
  translation and rounded (two versions of the open hand model gave wrist 0.15-0.25, thumb 0.6, MCPs
  0.8-0.9, PIPs 0.8-1.0, DIPs 0.85-1.0, tips 0.6). The wrist, whose position model, network and annotators
  define differently, and the fingertips weigh least. Images 50-99 gave the same pattern.

Units: metres and pixels; camera optical frame (x right, y down, z forward).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.dgp import DGPResult, locate_hand
from hand_mesh_ros.geometry.hand_size import palm_size

_GROUP_WEIGHTS = {  # inverse residual variance per joint group, handgraph_dev images 0-49, max = 1
    (0,): 0.25,  # wrist
    (1, 2, 3, 4): 0.6,  # thumb
    (5, 9, 13, 17): 0.8,  # finger MCPs
    (6, 10, 14, 18): 1.0,  # PIPs
    (7, 11, 15, 19): 0.85,  # DIPs
    (8, 12, 16, 20): 0.6,  # fingertips
}
FITTED_JOINT_WEIGHTS = np.zeros(21)
for _joints, _w in _GROUP_WEIGHTS.items():
    FITTED_JOINT_WEIGHTS[list(_joints)] = _w
FITTED_JOINT_WEIGHTS.setflags(write=False)


@dataclass(frozen=True, eq=False)
class FittedPosition:
    """Result of :func:`position_fitted_hand`.

    ``joints_cam`` (21, 3) metres, camera frame: the rescaled model keypoints at the new translation;
    ``translation`` (3,) metres: where the rescaled model's wrist keypoint is; ``scale``: factor applied to
    the model keypoints about their wrist; ``dgp``: the positioning solve (status 0 = OK).
    """

    joints_cam: np.ndarray
    translation: np.ndarray
    scale: float
    dgp: DGPResult

    @property
    def ok(self) -> bool:
        return bool(self.dgp.ok[0]) and bool(np.all(np.isfinite(self.joints_cam)))


def position_fitted_hand(camera: CameraModel, keypoints_px: np.ndarray, model_joints_m: np.ndarray,
                         palm_size_m: float, weights: np.ndarray | None = FITTED_JOINT_WEIGHTS,
                         refine: bool = False, previous: np.ndarray | None = None) -> FittedPosition:
    """Place the fitted hand model's keypoints in the camera from the detected 2D keypoints.

    ``keypoints_px`` (21, 2): detected keypoints in raw image pixels (MediaPipe order).
    ``model_joints_m`` (21, 3): the fitted model's keypoints, metres, camera orientation, any translation.
    ``palm_size_m``: palm size (mean wrist->MCP distance of the model keypoints) to rescale to, metres.
    ``weights`` (21,) per joint, None = uniform. ``refine``/``previous`` as in :func:`locate_hand`.
    Raises ValueError for wrong shapes, non-finite model joints or sizes that are not positive.
    """
    model = np.asarray(model_joints_m, dtype=np.float64)
    if model.shape != (21, 3):
        raise ValueError(f"model_joints_m must be (21, 3) metres, got {model.shape}")
    if not np.all(np.isfinite(model)):
        raise ValueError("model_joints_m contains NaN or infinity")
    kp = np.asarray(keypoints_px, dtype=np.float64)
    if kp.shape != (21, 2):
        raise ValueError(f"keypoints_px must be (21, 2) pixels, got {kp.shape}")
    if not np.isfinite(palm_size_m) or palm_size_m <= 0:
        raise ValueError(f"palm_size_m must be a positive number of metres, got {palm_size_m}")
    rel = model - model[0]
    size = float(palm_size(rel))
    if size < 1e-4:
        raise ValueError(f"the model keypoints have no palm (palm size {size:.2e} m)")
    scale = palm_size_m / size
    rel = rel * scale
    res = locate_hand(camera, kp, rel, weights, refine=refine, previous=previous)
    t = res.translation[0]
    return FittedPosition(rel + t, t.copy(), float(scale), res)
