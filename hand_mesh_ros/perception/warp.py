"""Bit-exact bilinear perspective warp of uint8 images with OpenCV 4.x fixed-point semantics.

MediaPipe crops its network inputs with OpenCV's ``warpPerspective`` (bilinear). OpenCV 4.x quantises every
source coordinate to 1/32 px (rounded to nearest) and blends the four neighbours with integer weights scaled
by 2^15; OpenCV 5 rounds differently, which moves values by one grey level here and there and shifts landmarks
by a few hundredths of a pixel. Reimplementing the 4.x arithmetic keeps our crops identical to MediaPipe's
whatever OpenCV is installed.
"""

from __future__ import annotations

import cv2
import numpy as np

_INTER_BITS = 5
_TAB = 1 << _INTER_BITS
_INT_MIN, _INT_MAX = float(np.iinfo(np.int32).min), float(np.iinfo(np.int32).max)


def fixed_point_maps(image_to_dst: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV-4 fixed-point remap tables for a perspective warp into a (width, height) = ``size`` image.

    Returns (xy int16 [h, w, 2]: integer source pixel, frac uint16 [h, w]: 1/32-px fraction index
    ay * 32 + ax), the form ``cv2.remap`` takes for bilinear fixed-point sampling.
    """
    ok, inv = cv2.invert(np.asarray(image_to_dst, dtype=np.float64))
    if not ok:
        raise ValueError("warp matrix is singular")
    m = inv.reshape(-1)
    width, height = size
    x = np.arange(width, dtype=np.float64)[None, :]
    y = np.arange(height, dtype=np.float64)[:, None]
    w = m[6] * x + (m[7] * y + m[8])
    w = np.divide(_TAB, w, out=np.zeros_like(w), where=w != 0)
    fx = np.clip((m[0] * x + (m[1] * y + m[2])) * w, _INT_MIN, _INT_MAX)
    fy = np.clip((m[3] * x + (m[4] * y + m[5])) * w, _INT_MIN, _INT_MAX)
    qx = np.rint(fx).astype(np.int32)
    qy = np.rint(fy).astype(np.int32)
    xy = np.stack(
        [np.clip(qx >> _INTER_BITS, -32768, 32767), np.clip(qy >> _INTER_BITS, -32768, 32767)], axis=-1
    ).astype(np.int16)
    frac = ((qy & (_TAB - 1)) * _TAB + (qx & (_TAB - 1))).astype(np.uint16)
    return xy, frac


_MAP_CACHE: dict[tuple[bytes, tuple[int, int]], tuple[np.ndarray, np.ndarray]] = {}
_MAP_CACHE_SIZE = 4


def warp_perspective_u8(
    image: np.ndarray, image_to_dst: np.ndarray, size: tuple[int, int], border: int = cv2.BORDER_CONSTANT
) -> np.ndarray:
    """Warp an HxWxC uint8 image with the 3x3 matrix ``image_to_dst`` (image px -> output px).

    ``size`` is (width, height) as in OpenCV. ``border`` is cv2.BORDER_CONSTANT (zeros) or
    cv2.BORDER_REPLICATE. Tables of recently used matrices are cached (the letterbox of a video stream
    repeats every frame).
    """
    if border not in (cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE):
        raise ValueError("border must be cv2.BORDER_CONSTANT or cv2.BORDER_REPLICATE")
    key = (np.asarray(image_to_dst, dtype=np.float64).tobytes(), (int(size[0]), int(size[1])))
    maps = _MAP_CACHE.get(key)
    if maps is None:
        maps = fixed_point_maps(image_to_dst, size)
        if len(_MAP_CACHE) >= _MAP_CACHE_SIZE:
            _MAP_CACHE.pop(next(iter(_MAP_CACHE)))
        _MAP_CACHE[key] = maps
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=border, borderValue=0)
