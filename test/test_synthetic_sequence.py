"""The synthetic sequence generator: determinism, content (both hands, palms to the camera, sizes, depths),
ground truth consistent with the rendered pixels, smooth motion and bad input."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from hand_mesh_ros.synthetic import SyntheticSequence, load_or_make_sequence, make_sequence
from hand_mesh_ros.synthetic.motion import KeyState, default_keys, interpolate, key_poses


@pytest.fixture(scope="module")
def small(prepared: None) -> SyntheticSequence:
    return make_sequence(num_frames=10, width=320, height=240, seed=3)


def test_deterministic_for_a_seed(prepared: None) -> None:
    a = make_sequence(num_frames=4, width=160, height=120, seed=7)
    b = make_sequence(num_frames=4, width=160, height=120, seed=7)
    c = make_sequence(num_frames=4, width=160, height=120, seed=8)
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa.rgb, fb.rgb)
        np.testing.assert_array_equal(fa.hand_mask, fb.hand_mask)
        for ha, hb in zip(fa.hands, fb.hands, strict=True):
            assert ha.side == hb.side
            np.testing.assert_array_equal(ha.joints, hb.joints)
    assert not np.array_equal(a[0].rgb, c[0].rgb)
    assert not np.allclose(a[0].hands[0].joints, c[0].hands[0].joints)


def test_layout_camera_and_sides(small: SyntheticSequence) -> None:
    assert len(small) == 10 and small.width == 320 and small.height == 240
    k = small.camera.k
    assert k[0, 0] == pytest.approx(300.0) and k[1, 1] == pytest.approx(300.0)
    assert (k[0, 2], k[1, 2]) == pytest.approx((159.5, 119.5))
    for f in small:
        assert f.rgb.shape == (240, 320, 3) and f.rgb.dtype == np.uint8
        assert f.hand_mask.shape == (240, 320) and f.hand_mask.dtype == bool
        assert f.stamp_s == pytest.approx(f.index / small.fps)
        sides = [h.side for h in f.hands]
        assert sides == (["right"] if f.index < 5 else ["right", "left"])
        for h in f.hands:
            assert h.joints.shape == (21, 3) and h.joints_px.shape == (21, 2)
            assert h.vertices.ndim == 2 and h.vertices.shape[1] == 3 and h.faces.shape[1] == 3
            assert 0.16 < h.hand_length_m < 0.20  # the open model (0.178 m) with shape parameters within +-1


def test_truth_projections_land_on_the_rendered_hands(small: SyntheticSequence) -> None:
    for f in small:
        ys, xs = np.nonzero(f.hand_mask)
        assert len(xs) > 500
        for h in f.hands:
            uv = np.round(h.joints_px).astype(int)
            assert (uv[:, 0] >= 0).all() and (uv[:, 0] < small.width).all()
            assert (uv[:, 1] >= 0).all() and (uv[:, 1] < small.height).all()
            # every keypoint (inside the hand volume) projects onto the hand's silhouette or within 2 px of it
            d = np.hypot(xs[None] - uv[:, :1], ys[None] - uv[:, 1:]).min(axis=1)
            assert d.max() <= 2.0, (f.index, h.side, d.max())
            # the projected keypoints agree with K applied to the camera-frame joints
            p = h.joints @ small.camera.k.T
            np.testing.assert_allclose(h.joints_px, p[:, :2] / p[:, 2:], atol=1e-9)
        # the hand pixels differ from the background: skin is redder than blue
        skin = f.rgb[f.hand_mask].astype(int)
        assert np.median(skin[:, 0] - skin[:, 2]) > 40


def test_rendered_silhouette_matches_the_mesh_projection(small: SyntheticSequence) -> None:
    f = small[7]
    grown = cv2.dilate(f.hand_mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    covered = np.zeros_like(f.hand_mask)
    for h in f.hands:
        p = h.vertices.astype(np.float64) @ small.camera.k.T
        uv = np.round(p[:, :2] / p[:, 2:]).astype(int)
        inside = grown[uv[:, 1].clip(0, small.height - 1), uv[:, 0].clip(0, small.width - 1)]
        assert inside.mean() > 0.99  # every vertex projects onto the silhouette (1 px tolerance at contours)
        covered[uv[:, 1].clip(0, small.height - 1), uv[:, 0].clip(0, small.width - 1)] = True
    # and the silhouette is no bigger than the meshes: its pixels lie near some projected vertex
    near = cv2.dilate(covered.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert near[f.hand_mask].mean() > 0.99


def test_full_sequence_content(prepared: None) -> None:
    """Default 60 frames: palms face the camera, palm 60-200 px, depths 0.35-0.8 m, smooth motion."""
    seq = load_or_make_sequence()  # the default sequence (num_frames=60, 640x480, seed 0), cached
    assert [len(f.hands) for f in seq] == [1] * 30 + [2] * 30
    depths, palm_px = [], []
    for f in seq:
        for h in f.hands:
            j = h.joints
            n = np.cross(j[5] - j[0], j[17] - j[0])  # index-MCP x pinky-MCP: palm-side normal on a right hand
            n = n if h.side == "right" else -n
            view = -j[9] / np.linalg.norm(j[9])  # from the hand towards the camera
            assert n @ view / np.linalg.norm(n) > 0.5, (f.index, h.side)
            # thumb on the image right for a right palm facing the camera, on the left for a left palm
            sign = 1 if h.side == "right" else -1
            assert sign * (h.joints_px[4, 0] - h.joints_px[20, 0]) > 0
            depths.append(j[0, 2])
            palm_m = np.linalg.norm(j[[5, 9, 13, 17]] - j[0], axis=1).mean()  # wrist to the finger MCPs
            palm_px.append(palm_m * seq.camera.k[0, 0] / j[0, 2])
    assert 0.35 <= min(depths) < 0.45 and 0.7 < max(depths) <= 0.8
    assert min(palm_px) >= 60 and max(palm_px) <= 200
    for side in ("right", "left"):
        track = [f.hand(side) for f in seq if f.hand(side) is not None]
        step = np.array([np.linalg.norm(b.joints_px - a.joints_px, axis=1) for a, b in itertools.pairwise(track)])
        palm = [0, 5, 9, 13, 17]
        assert step[:, palm].max() < 20.0  # the palm moves less than 20 px per frame: trackable video
        assert step.max() < 50.0  # fingertips sweep faster while the fingers curl, still continuously


def test_interpolation_passes_through_keys_and_is_continuous() -> None:
    keys = default_keys("left", np.random.default_rng(0))
    poses = key_poses()
    for k in keys:
        s = interpolate(keys, k.u)
        np.testing.assert_allclose(s.centre, k.centre, atol=1e-12)
        np.testing.assert_allclose(s.anatomical, poses[k.pose], atol=1e-12)
    us = np.linspace(0, 1, 401)
    c = np.array([interpolate(keys, u).centre for u in us])
    assert np.abs(np.diff(c, axis=0)).max() < 0.01


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="num_frames"):
        make_sequence(num_frames=1)
    with pytest.raises(ValueError, match="width"):
        make_sequence(width=10)
    with pytest.raises(ValueError, match="seed"):
        make_sequence(seed=-1)
    with pytest.raises(ValueError, match="unknown key pose"):
        interpolate([KeyState(0.0, "fist", (0, 0, 0.5))], 0.0)
    with pytest.raises(ValueError, match="increase"):
        interpolate([KeyState(0.5, "open", (0, 0, 0.5)), KeyState(0.5, "open", (0, 0, 0.5))], 0.0)
    with pytest.raises(ValueError, match="side"):
        default_keys("middle", np.random.default_rng(0))
