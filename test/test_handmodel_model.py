"""The open hand model: preparation, forward-pass properties, mirroring, output frames and the factory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.handmodel import HandModel, load_hand_model
from hand_mesh_ros.handmodel.constants import KEYPOINT_CHILD, KEYPOINT_NAMES
from hand_mesh_ros.handmodel.limits import random_plausible_pose
from hand_mesh_ros.handmodel.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def _mirror_pose(aa: np.ndarray) -> np.ndarray:
    return (aa.reshape(-1, 3) * np.array([1.0, -1.0, -1.0])).reshape(aa.shape)


def test_default_model_is_open_hand(prepared: None) -> None:
    for side in ("right", "left"):
        model = load_hand_model(side, None)
        assert model.name == "open_hand" and model.side == side
        out = model.outputs(model())[0]
        assert out.model == "open_hand" and out.side == side
        assert out.faces.dtype == np.int32 and out.joints.shape == (21, 3)
        assert out.frame_names == KEYPOINT_NAMES


def test_missing_asset_names_prepare_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAND_MESH_ROS_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"python -m hand_mesh_ros\.handmodel\.prepare"):
        load_hand_model("right", None)
    with pytest.raises(ValueError, match="side"):
        load_hand_model("middle", None)


def test_mesh_is_watertight_and_hand_sized(prepared: None) -> None:
    model = load_hand_model("right", None)
    faces = model.data.faces
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all()  # closed 2-manifold
    kp = model.kp_template
    wrist_to_middle_tip = np.linalg.norm(kp[12] - kp[0])
    assert 0.14 < wrist_to_middle_tip < 0.21
    # canonical layout: right fingers along -x, thumb side +z
    assert kp[12, 0] < kp[0, 0] - 0.1 and kp[4, 2] > kp[20, 2] + 0.05


def test_rest_pose_and_rigid_invariance(prepared: None) -> None:
    model = load_hand_model("right", None)
    rest = model(with_vertices=True)
    np.testing.assert_allclose(rest.vertices[0], model.data.v_template, atol=1e-12)
    rng = np.random.default_rng(0)
    hand_pose = random_plausible_pose(model.data.bone_frames, 1, rng)
    betas = rng.normal(size=(1, 10))
    local = model(np.zeros(3), hand_pose, betas)
    go = rng.normal(size=3)
    transl = rng.normal(size=3)
    moved = model(go, hand_pose, betas, transl)
    r = axis_angle_to_matrix(go)
    j0 = local.joint_positions[0, 0]
    expect_v = (local.vertices[0] - j0) @ r.T + j0 + transl
    expect_k = (local.keypoints[0] - j0) @ r.T + j0 + transl
    np.testing.assert_allclose(moved.vertices[0], expect_v, atol=1e-10)
    np.testing.assert_allclose(moved.keypoints[0], expect_k, atol=1e-10)
    # bone lengths are pose invariant
    bones = [(k, int(KEYPOINT_CHILD[k])) for k in range(1, 21) if int(KEYPOINT_CHILD[k]) > k]

    def lengths(kp: np.ndarray) -> np.ndarray:
        return np.array([float(np.linalg.norm(kp[a] - kp[b])) for a, b in bones])

    np.testing.assert_allclose(lengths(moved.keypoints[0]), lengths(local.keypoints[0]), atol=1e-10)


def test_left_is_mirror_of_right(prepared: None) -> None:
    right = load_hand_model("right", None)
    left = load_hand_model("left", None)
    rng = np.random.default_rng(1)
    go = rng.normal(size=3)
    hp = random_plausible_pose(right.data.bone_frames, 1, rng)[0]
    transl = np.array([0.05, -0.02, 0.4])
    br = right(go, hp, transl=transl)
    bl = left(_mirror_pose(go), _mirror_pose(hp), transl=transl * np.array([-1.0, 1.0, 1.0]))
    m = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(br.vertices[0] @ m, bl.vertices[0], atol=1e-9)
    np.testing.assert_allclose(br.keypoints[0] @ m, bl.keypoints[0], atol=1e-9)
    fr, fl = right.outputs(br)[0].keypoint_frames, left.outputs(bl)[0].keypoint_frames
    np.testing.assert_allclose(m @ fr @ np.diag([1.0, -1.0, 1.0]), fl, atol=1e-5)


def test_output_frames_follow_the_bones(prepared: None) -> None:
    model = load_hand_model("right", None)
    rng = np.random.default_rng(2)
    hp = random_plausible_pose(model.data.bone_frames, 1, rng)
    out = model.outputs(model(rng.normal(size=3), hp, transl=np.array([0.0, 0.0, 0.5])))[0]
    f = out.keypoint_frames
    np.testing.assert_allclose(
        np.einsum("kij,kil->kjl", f, f), np.broadcast_to(np.eye(3), f.shape), atol=1e-5
    )
    assert np.allclose(np.linalg.det(f), 1.0, atol=1e-5)
    for k in (1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19):  # x points at the child keypoint
        d = out.joints[KEYPOINT_CHILD[k]] - out.joints[k]
        assert float(f[k][:, 0] @ (d / np.linalg.norm(d))) > 0.97, KEYPOINT_NAMES[k]
    np.testing.assert_allclose(
        out.wrist_rotation,
        axis_angle_to_matrix(out.wrist_axis_angle.astype(np.float64)),
        atol=1e-5,
    )


def test_shape_directions_change_size(prepared: None) -> None:
    model = load_hand_model("right", None)
    base = model().keypoints[0]
    bigger = model(betas=np.eye(10)[0] * 2).keypoints[0]  # overall size, +12 %
    span = float(np.linalg.norm(base[12] - base[0]))
    span2 = float(np.linalg.norm(bigger[12] - bigger[0]))
    assert span2 / span == pytest.approx(1.12, rel=0.01)
    # index_size moves the index tip but not the pinky tip
    idx = model(betas=np.eye(10)[4]).keypoints[0]
    assert float(np.linalg.norm(idx[8] - base[8])) > 0.003
    assert float(np.linalg.norm(idx[20] - base[20])) < 1e-4


def test_bad_inputs_raise(prepared: None) -> None:
    model = load_hand_model("right", None)
    with pytest.raises(ValueError, match="hand_pose"):
        model(hand_pose=np.zeros(44))
    with pytest.raises(ValueError, match="NaN"):
        model(global_orient=np.array([np.nan, 0, 0]))
    with pytest.raises(TypeError):
        HandModel("not data")  # type: ignore[arg-type]


def test_axis_angle_round_trip() -> None:
    rng = np.random.default_rng(3)
    aa = rng.normal(size=(200, 3))
    aa = aa / np.linalg.norm(aa, axis=1, keepdims=True) * rng.uniform(0, 3.1, size=(200, 1))
    back = matrix_to_axis_angle(axis_angle_to_matrix(aa))
    np.testing.assert_allclose(back, aa, atol=1e-6)
    near_pi = np.array([[0.0, 3.14159, 0.0], [1e-9, 0.0, 0.0]])  # the branch near pi, and almost no rotation
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(near_pi)), near_pi, atol=1e-6)
