"""Hand length: the model's geometry gives it, scaling sets it exactly, annotated joints convert to it."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.handmodel.factory import load_hand_model_data
from hand_mesh_ros.handmodel.hand_length import (
    DEFAULT_HAND_LENGTH_M,
    at_hand_length,
    chain_to_hand_length,
    check_hand_length,
    hand_length_from_joints,
    joint_chain_length,
    model_hand_length,
    scaled,
)


@pytest.fixture(scope="module")
def data(prepared: None):  # type: ignore[no-untyped-def]
    return load_hand_model_data("right")


def test_open_model_hand_length_is_an_adult_hand(data) -> None:  # type: ignore[no-untyped-def]
    length = model_hand_length(data)
    assert 0.17 < length < 0.19  # the asset's flat hand, wrist crease to middle fingertip skin
    kp = data.keypoint_regressor @ data.v_template
    # the skin fingertip lies beyond the tip keypoint (which is 2 mm inside the pad), the wrist crease is the
    # plane through the wrist keypoint: the length exceeds the straight wrist->tip keypoint distance a little
    straight = float(np.linalg.norm(kp[12] - kp[0]))
    assert straight < length < straight + 0.004
    left = load_hand_model_data("left")
    assert model_hand_length(left) == pytest.approx(length, rel=1e-9)  # mirror images


def test_scaling_sets_the_length_exactly(data) -> None:  # type: ignore[no-untyped-def]
    for target in (0.16, DEFAULT_HAND_LENGTH_M, 0.21):
        d = at_hand_length(data, target)
        assert model_hand_length(d) == pytest.approx(target, rel=1e-12)
    d = scaled(data, 2.0)
    assert np.allclose(d.v_template, 2.0 * data.v_template) and np.allclose(d.shapedirs, 2.0 * data.shapedirs)
    # shape parameters change the length linearly (the "overall_size" direction by about 6 % per unit)
    betas = np.zeros(data.shapedirs.shape[2])
    betas[0] = 1.0
    assert model_hand_length(data, betas) == pytest.approx(1.06 * model_hand_length(data), rel=0.01)


def test_annotated_joints_convert_through_the_models_chain(data) -> None:  # type: ignore[no-untyped-def]
    factor = chain_to_hand_length(data)
    assert 1.0 < factor < 1.02  # nearly straight chain, tip keypoint just inside the skin
    kp = data.keypoint_regressor @ data.v_template
    assert hand_length_from_joints(kp, data) == pytest.approx(model_hand_length(data), rel=1e-12)
    assert hand_length_from_joints(np.stack([kp, 1.1 * kp]), data) == pytest.approx(
        1.05 * model_hand_length(data), rel=1e-12)  # the mean chain of a set
    bent = kp.copy()
    bent[10:13] = kp[9] + (kp[10:13] - kp[9]) @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]).T  # MCP flexed
    assert joint_chain_length(bent) == pytest.approx(joint_chain_length(kp), rel=1e-9)  # pose-independent


def test_bad_lengths_are_refused() -> None:
    for bad in (0.05, 0.5, float("nan"), -0.18):
        with pytest.raises(ValueError, match="wrist crease to middle fingertip"):
            check_hand_length(bad)
    with pytest.raises(ValueError, match="shape"):
        joint_chain_length(np.zeros((20, 3)))
