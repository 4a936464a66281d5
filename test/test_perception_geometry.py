"""Anchors, palm decoding/NMS, hand regions and the OpenCV-4-exact warp, on synthetic inputs."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from hand_mesh_ros.perception.anchors import ssd_anchors
from hand_mesh_ros.perception.palm_decode import decode_palms, weighted_nms
from hand_mesh_ros.perception.regions import (
    crop_region,
    project_points,
    region_from_landmarks,
    region_from_palm,
    region_iou,
)
from hand_mesh_ros.perception.types import HandRegion
from hand_mesh_ros.perception.warp import _within_int16, fixed_point_maps, warp_perspective_u8


def test_anchor_layout() -> None:
    a = ssd_anchors()
    assert a.shape == (2016, 2)
    # 24x24 grid, two anchors per cell, row by row; then the 12x12 grid with six anchors per cell.
    np.testing.assert_allclose(a[0], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(a[1152], [0.5 / 12, 0.5 / 12])
    np.testing.assert_allclose(a[1152:1158], np.repeat(a[1152:1153], 6, axis=0))
    np.testing.assert_allclose(a[-1], [11.5 / 12, 11.5 / 12])


def test_decode_single_anchor() -> None:
    boxes = np.zeros((2016, 18), np.float32)
    logits = np.full(2016, -50.0, np.float32)
    k = 1152 + 6 * (12 * 5 + 7)  # row 5, column 7 of the 12x12 grid
    boxes[k, :4] = [9.6, -19.2, 48.0, 24.0]  # dx, dy, w, h in 192-px units
    boxes[k, 4:6] = [1.92, 3.84]  # keypoint 0 offset
    logits[k] = 2.0
    palms = decode_palms(boxes, logits, 0.5)
    assert len(palms) == 1
    cx, cy = (7.5 / 12) + 0.05, (5.5 / 12) - 0.1
    np.testing.assert_allclose(palms[0].box, [cx - 0.125, cy - 0.0625, cx + 0.125, cy + 0.0625], atol=1e-6)
    np.testing.assert_allclose(palms[0].keypoints[0], [7.5 / 12 + 0.01, 5.5 / 12 + 0.02], atol=1e-6)
    assert palms[0].score == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert decode_palms(boxes, logits, 0.95) == []


def test_weighted_nms_merges_overlaps_only() -> None:
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]])
    kps = np.zeros((3, 7, 2))
    kps[1] += 1.0
    out = weighted_nms(np.array([0.9, 0.6, 0.7]), boxes, kps)
    assert len(out) == 2
    assert out[0].score == 0.9 and out[1].score == 0.7
    np.testing.assert_allclose(out[0].box, [0.04, 0.0, 1.04, 1.0])
    np.testing.assert_allclose(out[0].keypoints, 0.4)
    np.testing.assert_allclose(out[1].box, boxes[2])


def test_region_from_palm_rotation_shift_and_scale() -> None:
    # Palm pointing right (wrist left of the middle-finger MCP): rotation +90 deg.
    kps = np.array([[100.0, 200.0], [0, 0], [140.0, 200.0]] + [[0, 0]] * 4)
    r = region_from_palm(np.array([90.0, 180.0, 150.0, 220.0]), kps)
    assert r.angle == pytest.approx(math.pi / 2)
    assert r.w == r.h == pytest.approx(60 * 2.6)
    # Shift of -0.5 * height along the hand direction moves the centre towards the fingers (+x).
    assert (r.cx, r.cy) == pytest.approx((120.0 + 20.0, 200.0))


def test_region_from_landmarks_upright_hand() -> None:
    lm = np.zeros((21, 3))
    lm[:, 0] = np.linspace(80, 120, 21)
    lm[:, 1] = 300.0
    lm[0] = [100.0, 300.0, 0]
    for i in (5, 9, 13):
        lm[i] = [100.0, 200.0, 0]
    r = region_from_landmarks(lm)
    assert r.angle == pytest.approx(0.0)
    assert r.w == r.h
    assert r.cy < 300.0


def test_crop_and_project_round_trip() -> None:
    region = HandRegion(320.0, 240.0, 200.0, 200.0, 0.6)
    img = np.zeros((480, 640, 3), np.uint8)
    crop, to_image = crop_region(img, region, 224)
    assert crop.shape == (224, 224, 3)
    centre = project_points(np.array([[112.0, 112.0, 5.0]]), to_image)
    np.testing.assert_allclose(centre[0], [320.0, 240.0, 5.0], atol=1e-6)
    top = project_points(np.array([[112.0, 0.0]]), to_image)[0]
    np.testing.assert_allclose(top, [320 + 100 * math.sin(0.6), 240 - 100 * math.cos(0.6)], atol=1e-4)
    assert region_iou(region, region) == pytest.approx(1.0)
    assert region_iou(region, HandRegion(1000.0, 240.0, 200.0, 200.0, 0.0)) == 0.0


@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE])
def test_warp_close_to_opencv(border: int) -> None:
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), (5, 5), 2)
    m = cv2.getRotationMatrix2D((80.0, 60.0), 25.0, 1.3)
    m = np.vstack([m, [0, 0, 1]])
    ours = warp_perspective_u8(img, m, (96, 80), border)
    ref = cv2.warpPerspective(img, m, (96, 80), flags=cv2.INTER_LINEAR, borderMode=border)
    assert ours.shape == ref.shape == (80, 96, 3)
    # OpenCV 5 rounds differently from OpenCV 4 (which we reproduce): allow one grey level inside the image;
    # along the image edge, where zero padding enters, only compare with a wider margin.
    full = cv2.warpPerspective(
        np.full_like(img, 255), m, (96, 80), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    inside = full[..., 0] == 255
    assert inside.mean() > 0.3
    assert np.abs(ours.astype(int) - ref)[inside].max() <= 1
    assert np.abs(ours.astype(int) - ref).max() <= 4
    assert np.abs(ours.astype(int) - ref).mean() < 0.1


def _fixed_point_maps_per_pixel(image_to_dst: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV 4's fixed-point coordinates written pixel by pixel (slow and plain, to check the fast tables)."""
    m = np.linalg.inv(image_to_dst).reshape(-1)
    xy = np.zeros((size[1], size[0], 2), np.int16)
    frac = np.zeros((size[1], size[0]), np.uint16)
    for y in range(size[1]):
        for x in range(size[0]):
            w = m[6] * x + (m[7] * y + m[8])
            w = 32.0 / w if w != 0 else 0.0
            qx = int(np.rint(min(max((m[0] * x + (m[1] * y + m[2])) * w, -(2.0**31)), 2.0**31 - 1)))
            qy = int(np.rint(min(max((m[3] * x + (m[4] * y + m[5])) * w, -(2.0**31)), 2.0**31 - 1)))
            xy[y, x] = (min(max(qx >> 5, -32768), 32767), min(max(qy >> 5, -32768), 32767))
            frac[y, x] = (qy & 31) * 32 + (qx & 31)
    return xy, frac


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_point_maps_match_per_pixel_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    src = rng.uniform(-300, 900, (4, 2)).astype(np.float32)  # a general perspective, partly outside
    if seed == 0:  # a rotated square region, as the pipeline uses
        src = cv2.boxPoints(((310.3, 207.9), (173.4, 173.4), 37.25)).astype(np.float32)
    dst = np.array([[0, 40], [0, 0], [48, 0], [48, 40]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    xy, frac = fixed_point_maps(m, (48, 40))
    ref_xy, ref_frac = _fixed_point_maps_per_pixel(m, (48, 40))
    assert xy.dtype == np.int16 and frac.dtype == np.uint16
    np.testing.assert_array_equal(xy, ref_xy)
    np.testing.assert_array_equal(frac, ref_frac)


@pytest.mark.parametrize("case", ["far", "horizon"])
def test_fixed_point_maps_saturate_like_opencv(case: str) -> None:
    """Grids reaching beyond int16 (a region far outside the image) or across the horizon (the perspective
    denominator changes sign) take the saturating path, still exactly OpenCV 4's numbers."""
    if case == "far":
        m = np.array([[0.001, 0.0, 0.0], [0.0, 0.001, 0.0], [0.0, 0.0, 1.0]])  # output px -> 1000x input px
    else:
        m = np.linalg.inv(np.array([[1.0, 0.2, 3.0], [0.1, 1.0, -2.0], [0.02, -0.03, 0.3]]))
    assert not _within_int16(np.linalg.inv(m).reshape(-1), 48, 40)  # the saturating path
    xy, frac = fixed_point_maps(m, (48, 40))
    ref_xy, ref_frac = _fixed_point_maps_per_pixel(m, (48, 40))
    np.testing.assert_array_equal(xy, ref_xy)
    np.testing.assert_array_equal(frac, ref_frac)


@pytest.mark.parametrize("min_score", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_decode_keeps_exactly_the_scores_above_threshold(min_score: float) -> None:
    rng = np.random.default_rng(3)
    logits = rng.uniform(-6.0, 6.0, 2016).astype(np.float32)
    logits[:40] = np.float32(math.log(min_score / (1 - min_score))) if 0 < min_score < 1 else 0.0
    logits[40:50] = [37.0, 40.0, 100.0, 150.0, -150.0, np.nan, 30.0, 36.5, 0.0, -0.0]
    boxes = np.zeros((2016, 18), np.float32)  # zero-size boxes never overlap, so NMS keeps every palm
    palms = decode_palms(boxes, logits, min_score)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
    expected = np.sort(scores[scores >= min_score])[::-1]
    np.testing.assert_array_equal([p.score for p in palms], expected)
