"""Bit-exact bilinear perspective warp of uint8 images with OpenCV 4.x fixed-point semantics.

MediaPipe crops its network inputs with OpenCV's ``warpPerspective`` (bilinear). OpenCV 4.x quantises every
source coordinate to 1/32 px (rounded to nearest) and blends the four neighbours with integer weights scaled
by 2^15; OpenCV 5 rounds differently, which moves values by one grey level here and there and shifts landmarks
by a few hundredths of a pixel. Reimplementing the 4.x arithmetic keeps our crops identical to MediaPipe's
whatever OpenCV is installed.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

_INTER_BITS = 5
_TAB = 1 << _INTER_BITS
_INT_MIN, _INT_MAX = float(np.iinfo(np.int32).min), float(np.iinfo(np.int32).max)


def fixed_point_maps(image_to_dst: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV-4 fixed-point remap tables for a perspective warp into a (width, height) = ``size`` image.

    Returns (xy int16 [h, w, 2]: integer source pixel, frac uint16 [h, w]: 1/32-px fraction index
    ay * 32 + ax), the form ``cv2.remap`` takes for bilinear fixed-point sampling. The arithmetic (float64,
    same operation order as OpenCV 4) is done in place to keep the per-crop cost low.
    """
    ok, inv = cv2.invert(np.asarray(image_to_dst, dtype=np.float64))
    if not ok:
        raise ValueError("warp matrix is singular")
    m = inv.reshape(-1)
    width, height = size
    x = np.arange(width, dtype=np.float64)
    y = np.arange(height, dtype=np.float64)
    # W = M6 x + (M7 y + M8); W = W ? TAB / W : 0  (IEEE + and * are commutative, so outer sums are exact).
    w = np.add.outer(m[7] * y + m[8], m[6] * x)
    np.divide(_TAB, w, out=w, where=w != 0)
    # Saturation only matters far outside the image: skip it when a bound from the corners shows it cannot happen
    # (the numerators are affine in x, y and the denominator is too, so with one sign over the grid both reach
    # their extremes at the corners).
    saturate = not _within_int16(m, width, height)
    xy = np.empty((height, width, 2), np.int16)
    q = []
    for k in (0, 1):
        # X = (M0 x + (M1 y + M2)) * W, saturated to int32 and rounded to nearest (even on ties, as cvRound).
        f = np.add.outer(m[3 * k + 1] * y + m[3 * k + 2], m[3 * k] * x)
        f *= w
        if saturate:
            np.clip(f, _INT_MIN, _INT_MAX, out=f)
        np.rint(f, out=f)
        qk = f.astype(np.int32)
        xy[..., k] = np.clip(qk >> _INTER_BITS, -32768, 32767) if saturate else qk >> _INTER_BITS
        qk &= _TAB - 1
        q.append(qk)
    q[1] <<= _INTER_BITS
    q[1] |= q[0]
    return xy, q[1].astype(np.uint16)


def _within_int16(m: np.ndarray, width: int, height: int) -> bool:
    """Whether every fixed-point coordinate of the warp (inverse matrix ``m``, flat) over the output grid is
    safely inside int16 after the 1/32 shift (so no saturation is needed)."""
    cx = np.array([0.0, width - 1.0, 0.0, width - 1.0])
    cy = np.array([0.0, 0.0, height - 1.0, height - 1.0])
    den = m[6] * cx + (m[7] * cy + m[8])
    if not (np.all(den > 0) or np.all(den < 0)):
        return False
    reach = max(np.abs(m[0] * cx + (m[1] * cy + m[2])).max(), np.abs(m[3] * cx + (m[4] * cy + m[5])).max())
    return bool(reach * _TAB / np.abs(den).min() < 0.99 * 32767 * _TAB)


_MAP_CACHE: dict[tuple[bytes, tuple[int, int]], tuple[np.ndarray, np.ndarray]] = {}
_MAP_CACHE_SIZE = 4
_MAP_LOCK = threading.Lock()


def warp_perspective_u8(
    image: np.ndarray, image_to_dst: np.ndarray, size: tuple[int, int], border: int = cv2.BORDER_CONSTANT
) -> np.ndarray:
    """Warp an HxWxC uint8 image with the 3x3 matrix ``image_to_dst`` (image px -> output px).

    ``size`` is (width, height) as in OpenCV. ``border`` is cv2.BORDER_CONSTANT (zeros) or
    cv2.BORDER_REPLICATE. Tables of recently used matrices are cached, the least recently used evicted first (the
    letterbox of a video stream repeats every frame while hand crops change). Thread-safe.
    """
    if border not in (cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE):
        raise ValueError("border must be cv2.BORDER_CONSTANT or cv2.BORDER_REPLICATE")
    key = (np.asarray(image_to_dst, dtype=np.float64).tobytes(), (int(size[0]), int(size[1])))
    with _MAP_LOCK:
        maps = _MAP_CACHE.pop(key, None)  # re-inserted below, so the oldest entry is the least recently used
    if maps is None:
        maps = fixed_point_maps(image_to_dst, size)
    with _MAP_LOCK:
        while len(_MAP_CACHE) >= _MAP_CACHE_SIZE:
            _MAP_CACHE.pop(next(iter(_MAP_CACHE)))
        _MAP_CACHE[key] = maps
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=border, borderValue=0)
