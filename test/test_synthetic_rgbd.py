"""Synthetic RGB-D: the depth-sensor model, hands with varied bone lengths, the rendered depth and its truth,
the depth schedule, determinism and the .npz cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.handmodel.constants import KEYPOINT_PARENTS, TIP_KEYPOINTS
from hand_mesh_ros.handmodel.factory import load_hand_model_data
from hand_mesh_ros.handmodel.hand_length import model_hand_length
from hand_mesh_ros.handmodel.kinematics import PARENT
from hand_mesh_ros.synthetic import (
    RGBD_VERSION,
    DepthSensorModel,
    RgbdSequence,
    depth_schedule,
    load_or_make_rgbd_sequence,
    make_rgbd_sequence,
    person_hand_data,
    random_bone_factors,
    vary_bone_lengths,
)
from hand_mesh_ros.synthetic.rgbd import rgbd_cache_path

PALM = (0, 5, 9, 13, 17)  # wrist and the four knuckles (MediaPipe order)


@pytest.fixture(scope="module")
def one(prepared: None) -> RgbdSequence:
    return make_rgbd_sequence(num_frames=8, width=320, height=240, seed=3)


@pytest.fixture(scope="module")
def two(prepared: None) -> RgbdSequence:
    return make_rgbd_sequence(num_frames=4, width=320, height=240, seed=4, hands=2)


# ------------------------------------------------------------------------------------------------ sensor model
def test_sensor_on_a_flat_plane_at_one_metre() -> None:
    sensor = DepthSensorModel()
    out = sensor.apply(np.full((400, 400), 1.0), np.random.default_rng(0))
    assert out.shape == (400, 400) and out.dtype == np.uint16
    valid = out > 0
    assert abs((~valid).mean() - 0.02) < 0.004  # the random dropout only: a plane has no edges
    err_mm = out[valid].astype(float) - 1000.0
    assert abs(err_mm.mean()) < 0.05
    assert abs(err_mm.std() - 2.0) < 0.15 * 2.0  # sd = 0.002 * z^2 m = 2 mm at 1 m
    far = DepthSensorModel(dropout=0.0).apply(np.full((200, 200), 2.0), np.random.default_rng(1))
    assert abs((far.astype(float) - 2000.0).std() - 8.0) < 0.15 * 8.0  # grows with z^2
    f32 = DepthSensorModel(dropout=0.5).apply(np.full((20, 20), 1.0), np.random.default_rng(2))
    from hand_mesh_ros.synthetic.rgbd import depth_32fc1

    m = depth_32fc1(f32)
    assert m.dtype == np.float32 and np.array_equal(np.isnan(m), f32 == 0)
    np.testing.assert_allclose(m[f32 > 0], f32[f32 > 0] / 1000.0, rtol=1e-6)


def test_sensor_range_quantisation_and_no_surface() -> None:
    ramp = np.tile(np.linspace(0.05, 0.6, 300), (50, 1))
    ramp[:, :10] = 0.0
    ramp[:, 10:20] = np.nan
    ramp[:, 20:30] = np.inf
    out = DepthSensorModel(dropout=0.0, edge_band_px=0).apply(ramp, np.random.default_rng(0))
    assert not out[:, :30].any()  # no surface, no depth
    assert out[out > 0].min() >= 200  # nothing nearer than 0.2 m
    assert (out[:, -20:] > 0).all()
    coarse = DepthSensorModel(quantization_m=0.005).apply(np.full((50, 50), 1.3), np.random.default_rng(0))
    assert (coarse[coarse > 0] % 5 == 0).all()
    assert DepthSensorModel(max_range_m=1.0).apply(np.full((8, 8), 3.0), np.random.default_rng(0)).max() == 0


def test_sensor_edge_band_around_a_silhouette() -> None:
    depth = np.full((120, 120), 1.5)
    square = np.zeros((120, 120), bool)
    square[40:80, 40:80] = True
    depth[square] = 0.8
    sensor = DepthSensorModel(dropout=0.0)
    out = sensor.apply(depth, np.random.default_rng(0), silhouette=square)
    for r in (38, 39, 40, 41, 78, 79, 80, 81):  # within 2 px of the boundary, both sides
        assert not out[r, 45:75].any() and not out[45:75, r].any()
    assert (out[43:77, 43:77] > 0).all() and (out[:36, :] > 0).all() and (out[84:, :] > 0).all()
    # a depth jump alone (no silhouette given) is an edge too; a gentle slope is not
    assert not sensor.apply(depth, np.random.default_rng(0))[39:41, 45:75].any()
    slope = np.tile(np.linspace(1.0, 1.2, 120), (120, 1))
    assert (sensor.apply(slope, np.random.default_rng(0)) > 0).all()
    assert (DepthSensorModel(dropout=0.0, edge_band_px=0).apply(depth, np.random.default_rng(0),
                                                                 silhouette=square) > 0).all()


def test_sensor_bad_input() -> None:
    for kwargs in ({"dropout": 1.0}, {"edge_band_px": -1}, {"edge_band_px": 1.5}, {"min_range_m": 2.0,
                   "max_range_m": 1.0}, {"quantization_m": 0.0}, {"noise_coefficient": -1.0}):
        with pytest.raises(ValueError):
            DepthSensorModel(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DepthSensorModel().apply(np.ones(5), np.random.default_rng(0))
    with pytest.raises(ValueError):
        DepthSensorModel().apply(np.ones((5, 5)), np.random.default_rng(0), silhouette=np.ones((4, 5), bool))


# ------------------------------------------------------------------------------------------------- proportions
def test_bone_variation_scales_each_bone(prepared: None) -> None:
    data = load_hand_model_data("right")
    factors = random_bone_factors(np.random.default_rng(0), metacarpals=True)
    varied = vary_bone_lengths(data, factors)
    j0, j1 = data.j_regressor @ data.v_template, varied.j_regressor @ varied.v_template
    k0, k1 = data.keypoint_regressor @ data.v_template, varied.keypoint_regressor @ varied.v_template
    mano_finger = (4, 0, 1, 3, 2)  # thumb, index, middle, ring, pinky
    for f, m in enumerate(mano_finger):
        for level in range(3):
            j = 1 + 3 * m + level
            ratio = np.linalg.norm(j1[j] - j1[PARENT[j]]) / np.linalg.norm(j0[j] - j0[PARENT[j]])
            assert ratio == pytest.approx(factors[f, level], abs=1e-9)
        tip, last = TIP_KEYPOINTS[f], 3 + 3 * m
        ratio = np.linalg.norm(k1[tip] - j1[last]) / np.linalg.norm(k0[tip] - j0[last])
        assert ratio == pytest.approx(factors[f, 3], abs=1e-9)
    # the mesh follows: no vertex moves much further than the joints and keypoints (the fingertip skin a little
    # further than the tip keypoint, 2 mm inside it)
    moved = np.linalg.norm(varied.v_template - data.v_template, axis=1).max()
    largest = max(np.linalg.norm(j1 - j0, axis=1).max(), np.linalg.norm(k1 - k0, axis=1).max())
    assert 0.001 < moved <= 1.05 * largest + 0.0005
    np.testing.assert_array_equal(varied.faces, data.faces)
    assert np.allclose(varied.weights.sum(1), 1.0) and np.allclose(varied.j_regressor.sum(1), 1.0)
    assert np.allclose(varied.keypoint_regressor.sum(1), 1.0)
    with pytest.raises(ValueError):
        vary_bone_lengths(data, np.ones((5, 3)))
    assert (random_bone_factors(np.random.default_rng(1))[:, 0] == 1.0).all()


def test_person_hand_has_the_length_and_other_proportions(prepared: None) -> None:
    default = load_hand_model_data("right")
    hand = person_hand_data("right", 0.2, np.random.default_rng(5))
    assert model_hand_length(hand) == pytest.approx(0.2, abs=1e-9)

    def bones(data):  # type: ignore[no-untyped-def]
        kp = data.keypoint_regressor @ data.v_template
        return np.array([np.linalg.norm(kp[k] - kp[p]) for k, p in enumerate(KEYPOINT_PARENTS) if p >= 0]
                        ) / model_hand_length(data)

    assert np.abs(bones(hand) / bones(default) - 1.0).max() > 0.03


# ------------------------------------------------------------------------------------------------------ frames
def test_layout_and_types(one: RgbdSequence) -> None:
    assert len(one) == 8 and (one.width, one.height) == (320, 240) and one.fps == 30.0
    assert one.version == RGBD_VERSION and one.hands == 1 and one.sensor == DepthSensorModel()
    assert one.camera.fx == pytest.approx(300.0)
    assert 0.16 <= one.hand_length_m <= 0.21
    for f in one:
        assert f.rgb.shape == (240, 320, 3) and f.rgb.dtype == np.uint8
        assert f.depth_mm.shape == (240, 320) and f.depth_mm.dtype == np.uint16
        assert f.true_depth_m.dtype == np.float32 and f.hand_mask.dtype == bool
        assert f.stamp_s == pytest.approx(f.index / 30.0)
        assert [h.side for h in f.hands] == ["right"] and f.hand("left") is None
        h = f.hand("right")
        assert h is not None and h.hand_length_m == pytest.approx(one.hand_length_m, abs=1e-9)
        assert 0.5 <= np.mean(h.vertices[:, 2]) <= 0.8  # the calm start
        d = f.depth_32fc1()
        assert np.array_equal(np.isnan(d), f.depth_mm == 0)


def test_true_and_sensor_depth(one: RgbdSequence) -> None:
    for f in one:
        wall = f.true_depth_m[~f.hand_mask]
        assert wall.min() >= 2.0 and wall.max() <= 2.5
        assert (f.true_depth_m > 0).all()  # the wall is everywhere behind the hands
        h = f.hands[0]
        uv = np.round(h.joints_px).astype(int)
        gaps = np.array([h.joints[k, 2] - f.true_depth_m[uv[k, 1], uv[k, 0]] for k in PALM])
        assert (gaps > 0).all()  # the skin is in front of the wrist and knuckle joints
        assert 0.005 < np.median(gaps) < 0.03, gaps
        if f.index < 3:  # open hand at the start: every palm joint within ~3 cm of the skin in front of it
            assert gaps.max() < 0.045, gaps
        # the sensor's valid pixels are near the truth (noise sd 2 mm at 1 m)
        valid = f.depth_mm > 0
        err = f.depth_mm[valid] / 1000.0 - f.true_depth_m[valid]
        assert np.abs(err).max() < 6 * 0.002 * 2.5**2
        assert 0.02 <= 1.0 - valid.mean() < 0.15
        assert 0.5 < valid[f.hand_mask].mean() < 0.98  # the silhouette band and dropout cost some hand pixels
        # the truth keypoints project onto the hand
        ys, xs = np.nonzero(f.hand_mask)
        dist = np.hypot(xs[None] - h.joints_px[:, :1], ys[None] - h.joints_px[:, 1:]).min(axis=1)
        assert dist.max() <= 2.0


def test_rendered_hand_length_is_the_truth(one: RgbdSequence) -> None:
    # frame 0 is the open pose: the middle finger straight, so the hand's extent along wrist -> middle tip is
    # its hand length (``model_hand_length`` of the rendered model)
    h = one[0].hands[0]
    axis = h.joints[12] - h.joints[0]
    axis /= np.linalg.norm(axis)
    extent = float(((h.vertices - h.joints[0]) @ axis).max())
    assert extent == pytest.approx(h.hand_length_m, abs=0.002)
    # and the proportions differ from the default model: some normalised distal bone is > 3 % off
    default = load_hand_model_data("right")
    kp = default.keypoint_regressor @ default.v_template
    ratios = [(np.linalg.norm(h.joints[t] - h.joints[t - 1]) / h.hand_length_m)
              / (np.linalg.norm(kp[t] - kp[t - 1]) / model_hand_length(default)) for t in TIP_KEYPOINTS]
    assert np.abs(np.array(ratios) - 1.0).max() > 0.03


def test_two_hands(two: RgbdSequence) -> None:
    assert two.hands == 2
    for f in two:
        assert [h.side for h in f.hands] == ["right", "left"]
        right, left = f.hand("right"), f.hand("left")
        assert right is not None and left is not None
        assert right.joints_px[0, 0] < two.width / 2 < left.joints_px[0, 0]
        assert right.hand_length_m == pytest.approx(left.hand_length_m, abs=1e-9)
        assert right.hand_length_m == pytest.approx(two.hand_length_m, abs=1e-9)
    # the two hands of one person: same length, their own bone lengths
    r, left_hand = two[0].hand("right"), two[0].hand("left")
    assert r is not None and left_hand is not None
    lengths = [[np.linalg.norm(h.joints[t] - h.joints[t - 1]) for t in TIP_KEYPOINTS] for h in (r, left_hand)]
    assert not np.allclose(lengths[0], lengths[1], rtol=0.01)


def test_deterministic(one: RgbdSequence) -> None:
    again = make_rgbd_sequence(num_frames=8, width=320, height=240, seed=3)
    for a, b in zip(again, one, strict=True):
        for name in ("rgb", "depth_mm", "true_depth_m", "hand_mask"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.hands[0].joints, b.hands[0].joints)
        np.testing.assert_array_equal(a.hands[0].vertices, b.hands[0].vertices)
    other = make_rgbd_sequence(num_frames=2, width=320, height=240, seed=4)
    assert not np.array_equal(other[0].depth_mm, one[0].depth_mm)
    assert other.hand_length_m != one.hand_length_m
    # another sensor changes the depth only (its noise has its own random stream)
    quiet = make_rgbd_sequence(num_frames=8, width=320, height=240, seed=3, sensor=DepthSensorModel(dropout=0.0))
    np.testing.assert_array_equal(quiet[1].rgb, one[1].rgb)
    np.testing.assert_array_equal(quiet[1].true_depth_m, one[1].true_depth_m)
    assert not np.array_equal(quiet[1].depth_mm, one[1].depth_mm)


def test_depth_schedule() -> None:
    t = np.arange(240) / 30.0
    z = depth_schedule(t, 240 / 30.0)
    assert z.min() <= 0.305 and z.max() >= 1.495
    assert z.min() >= 0.3 - 1e-9 and z.max() <= 1.5 + 1e-9
    calm = z[t < 1.5]
    assert calm.min() >= 0.5 and calm.max() <= 0.8
    assert z[-1] == pytest.approx(0.6, abs=0.02)
    assert np.abs(np.diff(z)).max() * 30.0 < 0.6  # m/s
    short = depth_schedule(np.arange(60) / 30.0, 2.0)  # a short sequence is the start of the same schedule
    np.testing.assert_allclose(short, z[:60])


def test_bad_arguments(prepared: None) -> None:
    for kwargs in ({"hands": 3}, {"hands": 0}, {"num_frames": 1}, {"seed": -1}, {"width": 10}):
        with pytest.raises(ValueError):
            make_rgbd_sequence(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        make_rgbd_sequence(num_frames=2, width=96, height=64, sensor="kinect")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------- cache
def test_cache_round_trip_and_recovery(prepared: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seq = load_or_make_rgbd_sequence(tmp_path, num_frames=3, width=96, height=64, seed=1, hands=2)
    path = rgbd_cache_path(tmp_path, 3, 96, 64, 1, 2)
    assert path.is_file() and path.name == f"rgbd_v{RGBD_VERSION}_h2_n3_96x64_s1.npz"
    assert "rendering" in capsys.readouterr().err
    back = load_or_make_rgbd_sequence(tmp_path, num_frames=3, width=96, height=64, seed=1, hands=2)
    assert "rendering" not in capsys.readouterr().err
    assert (back.hands, back.seed, back.sensor, back.version) == (2, 1, seq.sensor, RGBD_VERSION)
    assert back.hand_length_m == seq.hand_length_m
    np.testing.assert_array_equal(back.camera.k, seq.camera.k)
    for a, b in zip(seq, back, strict=True):
        for name in ("rgb", "depth_mm", "true_depth_m", "hand_mask"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert [h.side for h in a.hands] == [h.side for h in b.hands]
        for ha, hb in zip(a.hands, b.hands, strict=True):
            np.testing.assert_array_equal(ha.joints, hb.joints)
            np.testing.assert_array_equal(ha.vertices, hb.vertices)
            assert ha.hand_length_m == hb.hand_length_m
    path.write_bytes(b"not a zip")
    again = load_or_make_rgbd_sequence(tmp_path, num_frames=3, width=96, height=64, seed=1, hands=2)
    assert "ignoring" in capsys.readouterr().err
    np.testing.assert_array_equal(again[2].depth_mm, seq[2].depth_mm)
    assert not list(tmp_path.glob("*.part*"))
