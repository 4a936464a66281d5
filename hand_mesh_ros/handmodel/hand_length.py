"""Hand length: the one physical size that fixes absolute depth from a single camera.

**Definition** (the standard anthropometric measure): the length of the flat hand from the wrist crease to
the tip of the middle finger, measured along the hand's long axis (a ruler on the palm side, fingers
together and straight). The ANSUR II survey measures it from the stylion (the tip of the radius' styloid
process, at the wrist crease) to the dactylion (middle fingertip).

**On the hand model** (:func:`model_hand_length`): in the flat rest pose, the long axis runs from the wrist
keypoint to the middle fingertip keypoint. The wrist crease is the plane through the wrist keypoint normal
to that axis (MediaPipe's wrist landmark sits at the middle of the wrist crease), and the fingertip is the
most distal skin vertex along the axis. The model is scaled uniformly so that this length equals the
configured ``hand_length_m``.

**On a set of annotated joints** (:func:`hand_length_from_joints`): the joint chain wrist -> middle MCP ->
PIP -> DIP -> tip, summed bone by bone, times :func:`chain_to_hand_length`, the ratio of the model's hand
length to the same chain on the model's keypoints (1.007 for the open hand: the chain is nearly straight and
ends 2 mm inside the fingertip skin). Only the ground-truth joints enter; nothing is fitted to images.

Depth scales with the size: a hand length 10 % too large places hands 10 % too far (the camera-space fit is
scale-equivariant).

Units: metres. Source of the default: ANSUR II (Gordon et al., "2012 Anthropometric Survey of U.S. Army
Personnel: Methods and Summary Statistics", NATICK/TR-15/007, 2014), hand length mean 193.3 mm for men
(n = 4082) and 181.1 mm for women (n = 1986), computed from the public ANSUR II data; the default
:data:`DEFAULT_HAND_LENGTH_M` = 0.187 m is the mean of the two.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .data import HandModelData

DEFAULT_HAND_LENGTH_M = 0.187
MIN_HAND_LENGTH_M = 0.10  # a small child's hand
MAX_HAND_LENGTH_M = 0.30
WRIST, MIDDLE_TIP = 0, 12
MIDDLE_CHAIN = (0, 9, 10, 11, 12)  # wrist, middle MCP, PIP, DIP, tip (MediaPipe order)


def check_hand_length(length_m: float) -> float:
    """``length_m`` as a float; ValueError unless it is a finite length in [0.10, 0.30] m."""
    value = float(length_m)
    if not np.isfinite(value) or not MIN_HAND_LENGTH_M <= value <= MAX_HAND_LENGTH_M:
        raise ValueError(f"hand length must be a number of metres in [{MIN_HAND_LENGTH_M}, {MAX_HAND_LENGTH_M}] "
                         f"(wrist crease to middle fingertip; adults 0.16-0.21), got {length_m!r}")
    return value


def _rest_keypoints(data: HandModelData, betas: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    v = data.v_template if betas is None else data.v_template + data.shapedirs @ np.asarray(betas, float)
    return v, data.keypoint_regressor @ v


def _axis_and_tip(data: HandModelData) -> tuple[np.ndarray, int]:
    """Unit long axis (wrist keypoint -> middle tip keypoint) and the fingertip vertex, at the mean shape."""
    v, kp = _rest_keypoints(data, None)
    axis = kp[MIDDLE_TIP] - kp[WRIST]
    axis = axis / np.linalg.norm(axis)
    return axis, int(np.argmax((v - kp[WRIST]) @ axis))


def model_hand_length(data: HandModelData, betas: np.ndarray | None = None) -> float:
    """Hand length of the model in its flat rest pose, metres (see the module docstring).

    ``betas`` (S,): shape parameters (default: the mean shape). The axis and the fingertip vertex are those
    of the mean shape, so the length is linear in ``betas``.
    """
    axis, tip = _axis_and_tip(data)
    v, kp = _rest_keypoints(data, betas)
    return float((v[tip] - kp[WRIST]) @ axis)


def scaled(data: HandModelData, factor: float) -> HandModelData:
    """The model uniformly scaled by ``factor`` about its canonical origin (regressors follow the vertices)."""
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"scale factor must be a positive number, got {factor!r}")
    return dataclasses.replace(data, v_template=data.v_template * factor, shapedirs=data.shapedirs * factor,
                               posedirs=data.posedirs * factor)


def at_hand_length(data: HandModelData, hand_length_m: float) -> HandModelData:
    """The model scaled so that :func:`model_hand_length` equals ``hand_length_m`` (metres)."""
    return scaled(data, check_hand_length(hand_length_m) / model_hand_length(data))


def joint_chain_length(joints: np.ndarray) -> np.ndarray:
    """(...,) length of the chain wrist -> middle MCP -> PIP -> DIP -> tip of joints (..., 21, 3), same units."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim < 2 or j.shape[-2:] != (21, 3):
        raise ValueError(f"joints must have shape (..., 21, 3), got {j.shape}")
    return np.linalg.norm(np.diff(j[..., MIDDLE_CHAIN, :], axis=-2), axis=-1).sum(-1)


def chain_to_hand_length(data: HandModelData) -> float:
    """Model hand length over the model's own joint chain (:func:`joint_chain_length`) at rest."""
    _, kp = _rest_keypoints(data, None)
    return model_hand_length(data) / float(joint_chain_length(kp))


def hand_length_from_joints(joints: np.ndarray, data: HandModelData) -> float:
    """Hand length (metres) of a person from annotated joints (N, 21, 3) or (21, 3) in metres.

    The mean chain length over all given samples times :func:`chain_to_hand_length` of ``data``.
    """
    chain = np.atleast_1d(joint_chain_length(joints))
    return float(np.mean(chain)) * chain_to_hand_length(data)
