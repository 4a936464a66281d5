"""Rotated hand regions: building them from palms or landmarks, cropping them, projecting points back.

Everything is in image pixels (x right, y down, pixel centres at integer coordinates as in OpenCV). A
region is mapped onto a square network input by the perspective (here affine) transform that sends the
region's corners to the input's corners, exactly as MediaPipe's CPU image-to-tensor step does.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .types import HandRegion
from .warp import warp_perspective_u8

TARGET_ANGLE = math.pi / 2
# Palm detection -> hand region.
PALM_SCALE, PALM_SHIFT_Y = 2.6, -0.5
# Landmarks -> region for the next frame.
TRACK_SCALE, TRACK_SHIFT_Y = 2.0, -0.1
# Landmarks used for the tracking region (wrist, thumb CMC..IP, and MCP+PIP of the four fingers).
TRACK_SUBSET = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)


def normalize_radians(angle: float) -> float:
    """Wrap an angle into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation_from(x0: float, y0: float, x1: float, y1: float) -> float:
    """Region rotation that makes the vector (x0, y0) -> (x1, y1) (px) point up in the crop."""
    return normalize_radians(TARGET_ANGLE - math.atan2(-(y1 - y0), x1 - x0))


def transform_region(
    cx: float, cy: float, w: float, h: float, angle: float, scale: float, shift_y: float
) -> HandRegion:
    """Shift along the region's own y axis (fraction of h), make it square (long side), then scale."""
    cx += -h * shift_y * math.sin(angle)
    cy += h * shift_y * math.cos(angle)
    side = max(w, h) * scale
    return HandRegion(cx, cy, side, side, angle)


def region_from_palm(box_px: np.ndarray, keypoints_px: np.ndarray) -> HandRegion:
    """Hand region from a palm: rotation wrist (kp 0) -> middle MCP (kp 2), enlarged 2.6x, shifted -0.5."""
    xmin, ymin, xmax, ymax = (float(v) for v in box_px)
    angle = rotation_from(*(float(v) for v in keypoints_px[0]), *(float(v) for v in keypoints_px[2]))
    return transform_region(
        (xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin, angle, PALM_SCALE, PALM_SHIFT_Y
    )


def region_from_landmarks(landmarks_px: np.ndarray) -> HandRegion:
    """Tracking region from 21 landmarks (px): rotation wrist -> mean(mean(index, ring MCP), middle MCP),
    tight box of the palm/finger-base subset in the rotated frame, enlarged 2.0x, shifted -0.1, squared."""
    pts = np.asarray(landmarks_px, dtype=np.float64)[list(TRACK_SUBSET), :2]
    x0, y0 = pts[0]
    mid = ((pts[4] + pts[8]) / 2 + pts[6]) / 2  # subset indices of landmarks 5, 13 and 9
    angle = rotation_from(x0, y0, mid[0], mid[1])
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    c, s = math.cos(-angle), math.sin(-angle)
    rel = pts - centre
    proj = np.stack([rel[:, 0] * c - rel[:, 1] * s, rel[:, 0] * s + rel[:, 1] * c], axis=1)
    pmin, pmax = proj.min(axis=0), proj.max(axis=0)
    pc = (pmin + pmax) / 2
    c, s = math.cos(angle), math.sin(angle)
    cx = pc[0] * c - pc[1] * s + centre[0]
    cy = pc[0] * s + pc[1] * c + centre[1]
    w, h = pmax - pmin
    return transform_region(cx, cy, float(w), float(h), angle, TRACK_SCALE, TRACK_SHIFT_Y)


def full_image_region(width: int, height: int) -> HandRegion:
    """The letterbox region of a whole image: centred square of the long side, no rotation."""
    side = float(max(width, height))
    return HandRegion(width / 2, height / 2, side, side, 0.0)


def _f32(v: float) -> float:
    return float(np.float32(v))


def image_to_crop_matrix(
    region: HandRegion, size: int, image_size: tuple[int, int] | None = None
) -> np.ndarray:
    """3x3 matrix mapping image px to crop px for a ``size`` x ``size`` crop of ``region``.

    With ``image_size`` = (width, height) the region goes through MediaPipe's float32 normalised form
    first, so the corners (and hence the 1/32-px sampling grid) come out as in MediaPipe.
    """
    cx, cy, w, h = region.cx, region.cy, region.w, region.h
    if image_size is not None:
        iw, ih = np.float32(image_size[0]), np.float32(image_size[1])
        cx = _f32(np.float32(cx / image_size[0]) * iw)
        cy = _f32(np.float32(cy / image_size[1]) * ih)
        w = _f32(np.float32(w / image_size[0]) * iw)
        h = _f32(np.float32(h / image_size[1]) * ih)
    degrees = _f32(float(np.float32(region.angle) * np.float32(180.0)) / math.pi)
    corners = cv2.boxPoints(((cx, cy), (w, h), degrees))
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], dtype=np.float32)
    return cv2.getPerspectiveTransform(corners.astype(np.float32), dst)


def crop_region(
    image: np.ndarray, region: HandRegion, size: int, border: int = cv2.BORDER_CONSTANT
) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``region`` of an HxWx3 uint8 image into a size x size uint8 image (bilinear).

    Returns (crop, crop_to_image 3x3 matrix). Outside the image the crop is filled per ``border``
    (BORDER_CONSTANT: zeros, or BORDER_REPLICATE). Pixel values match OpenCV 4.x warpPerspective exactly.
    """
    m = image_to_crop_matrix(region, size, (image.shape[1], image.shape[0]))
    crop = warp_perspective_u8(image, m, (size, size), border)
    return crop, np.linalg.inv(m.astype(np.float64))


def project_points(points: np.ndarray, crop_to_image: np.ndarray) -> np.ndarray:
    """Map (N, 2+) crop px points to image px with the 3x3 matrix; extra columns are passed through."""
    pts = np.asarray(points, dtype=np.float64)
    hom = np.concatenate([pts[:, :2], np.ones((len(pts), 1))], axis=1) @ crop_to_image.T
    out = pts.copy()
    out[:, :2] = hom[:, :2] / hom[:, 2:3]
    return out


def region_iou(a: HandRegion, b: HandRegion) -> float:
    """IoU of the axis-aligned boxes (centre, size) of two regions, rotation ignored."""
    ix = min(a.cx + a.w / 2, b.cx + b.w / 2) - max(a.cx - a.w / 2, b.cx - b.w / 2)
    iy = min(a.cy + a.h / 2, b.cy + b.h / 2) - max(a.cy - a.h / 2, b.cy - b.h / 2)
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a.w * a.h + b.w * b.h - inter)
