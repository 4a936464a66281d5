"""Hand models with MANO's kinematic tree: MANO (user-supplied) or the embedded open hand; keypoint fitting.

Typical use::

    from hand_mesh_ros.handmodel import load_hand_model, HandFitter
    model = load_hand_model("right", mano_dir=None)   # open hand unless a MANO directory is configured
    fitter = HandFitter(model)
    fit = fitter.fit(keypoints_m)                       # (B, 21, 3) metres, MediaPipe order
    hands = model.outputs(fitter.to_batch(fit))         # list[HandModelOutput]
"""

from .constants import KEYPOINT_NAMES, MANO_JOINT_NAMES, MANO_TIP_VERTICES
from .data import HandModelData, HandModelError, HandModelNotFoundError
from .factory import load_hand_model, load_hand_model_data, load_open_hand_data
from .fit import FitResult, HandFitter
from .mano import UnsafePickleError, load_mano, read_mano_pickle
from .model import HandBatch, HandModel, HandModelOutput

__all__ = [
    "KEYPOINT_NAMES",
    "MANO_JOINT_NAMES",
    "MANO_TIP_VERTICES",
    "FitResult",
    "HandBatch",
    "HandFitter",
    "HandModel",
    "HandModelData",
    "HandModelError",
    "HandModelNotFoundError",
    "HandModelOutput",
    "UnsafePickleError",
    "load_hand_model",
    "load_hand_model_data",
    "load_mano",
    "load_open_hand_data",
    "read_mano_pickle",
]
