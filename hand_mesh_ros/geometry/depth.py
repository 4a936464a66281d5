"""Depth images registered to the colour image, and robust depth samples at the hand's keypoints.

A depth camera's ``aligned_depth_to_color`` stream (RealSense, ZED, OAK-D, Orbbec) gives, for each pixel of the
colour image, the distance along the optical axis (z, the camera optical frame's third coordinate) of the
surface seen there. Two encodings are in use: ``16UC1`` millimetres with 0 for "no depth", and ``32FC1``
metres with NaN (or 0, or infinity) for "no depth". :class:`DepthImage` holds either as float32 metres with NaN
where there is no depth.

:func:`sample_keypoint_depths` reads the depth of the surface at each 2D keypoint without trusting a single
pixel: a small window around it, only samples within a band around the hand's own depth (the background
behind it and anything far in front are dropped), and of those the nearest surface (the front cluster; an
occluding finger in front of a joint is left to the fit's robust loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .camera import CameraModel

# Depth encodings accepted: what one unit is, and which values mean "no depth".
DEPTH_ENCODINGS = {
    "16UC1": "millimetres (uint16), 0 = no depth",
    "mono16": "millimetres (uint16), 0 = no depth",
    "32FC1": "metres (float32), NaN, 0 or infinity = no depth",
}
ASPECT_TOLERANCE = 0.01  # relative: a depth image of another size must show the same field of view


class DepthImageError(ValueError):
    """A depth image cannot be used with the colour image: unknown encoding, wrong shape or data type, or a
    size that is not the colour image's field of view."""


def check_depth_encoding(encoding: str, hint: str = "") -> None:
    """Raise :class:`DepthImageError` (with ``hint`` after the encoding) unless ``encoding`` is a key of
    :data:`DEPTH_ENCODINGS`."""
    if encoding not in DEPTH_ENCODINGS:
        raise DepthImageError(f"depth encoding {encoding!r}{hint} is not supported; use one of "
                              + ", ".join(f"{k} ({v})" for k, v in DEPTH_ENCODINGS.items()))


@dataclass(frozen=True, eq=False)
class DepthImage:
    """Depth registered to the colour image: ``metres`` (H, W) float32, z along the optical axis, NaN where
    the sensor gave nothing. Pixel (u, v) is the colour image's pixel (u, v) (same K, same lens distortion)."""

    metres: np.ndarray

    def __post_init__(self) -> None:
        m = self.metres
        if not isinstance(m, np.ndarray) or m.ndim != 2 or m.dtype != np.float32 or min(m.shape) < 1:
            raise DepthImageError(f"depth must be an (H, W) float32 array of metres, got "
                                  f"{getattr(m, 'dtype', type(m).__name__)} {getattr(m, 'shape', '')}")

    @property
    def width(self) -> int:
        return int(self.metres.shape[1])

    @property
    def height(self) -> int:
        return int(self.metres.shape[0])

    @classmethod
    def from_array(cls, data: np.ndarray, encoding: str) -> DepthImage:
        """A depth image from the raw (H, W) array of a ``sensor_msgs/Image`` with ``encoding`` (a key of
        :data:`DEPTH_ENCODINGS`). Raises :class:`DepthImageError` for another encoding or a data type that
        does not match it."""
        check_depth_encoding(encoding)
        a = np.asarray(data)
        if a.ndim != 2:
            raise DepthImageError(f"depth must be a single-channel (H, W) image, got shape {a.shape}")
        if encoding == "32FC1":
            if a.dtype != np.float32:
                raise DepthImageError(f"32FC1 depth must be float32, got {a.dtype}")
            m = a.copy()
            m[~np.isfinite(m) | (m <= 0.0)] = np.nan
        else:
            if a.dtype != np.uint16:
                raise DepthImageError(f"{encoding} depth must be uint16 millimetres, got {a.dtype}")
            m = a.astype(np.float32) * np.float32(1e-3)
            m[a == 0] = np.nan
        return cls(m)

    def registered_to(self, camera: CameraModel) -> DepthImage:
        """This depth on the colour camera's pixel grid: as is when the sizes match; rescaled (nearest pixel:
        depths are never blended across an edge) when it is another size with the same aspect ratio, i.e. the
        same field of view (a depth stream at half resolution). Raises :class:`DepthImageError` otherwise."""
        w, h = camera.width, camera.height
        if (self.width, self.height) == (w, h):
            return self
        if abs(self.width / self.height - w / h) > ASPECT_TOLERANCE * (w / h):
            raise DepthImageError(f"depth image is {self.width}x{self.height} but the colour image is {w}x{h}: "
                                  "not the same field of view. Use the depth stream registered (aligned) to the "
                                  "colour camera, e.g. a RealSense's aligned_depth_to_color/image_raw")
        return DepthImage(cv2.resize(self.metres, (w, h), interpolation=cv2.INTER_NEAREST))


@dataclass(frozen=True, eq=False)
class KeypointDepths:
    """Depth of the surface at each keypoint of B hands: ``depth_m`` (B, 21) metres along z, NaN where no
    robust sample was found; ``support`` (B, 21) how many window samples the value is the median of;
    ``hand_depth_m`` (B,) the median of the palm keypoints' window samples (NaN where there are none)."""

    depth_m: np.ndarray
    support: np.ndarray
    hand_depth_m: np.ndarray


def window_radius_px(keypoints_px: np.ndarray) -> np.ndarray:
    """(B,) sampling window radius for B hands' keypoints (B, 21, 2): 5 % of the wrist to middle-knuckle
    distance in pixels (about a third of a finger's width), between 1 and 4 px."""
    palm = np.linalg.norm(keypoints_px[:, 9] - keypoints_px[:, 0], axis=-1)
    return np.clip(np.round(0.05 * palm), 1, 4).astype(np.int64)


def sample_keypoint_depths(depth: DepthImage, keypoints_px: np.ndarray, hand_length_m: float,
                           front_tolerance_m: float = 0.012, min_support: int = 3) -> KeypointDepths:
    """Robust depth of the visible surface at each keypoint.

    ``keypoints_px`` (B, 21, 2): the 2D keypoints in the colour image's pixels (MediaPipe order). For each hand:
    a square window of :func:`window_radius_px` around every keypoint; the hand's depth is the median of the
    valid samples of the palm keypoints (0, 5, 9, 13, 17); samples farther than ``hand_length_m`` from it (the
    background, a table the hand rests above, an object well in front) are dropped; of the rest, each keypoint
    keeps those within ``front_tolerance_m`` of the nearest (the front surface: the window may reach past a
    finger's edge onto the palm behind it) and takes their median. Fewer than ``min_support`` such samples, or
    keypoints outside the image: NaN. Returns :class:`KeypointDepths`.
    """
    kp = np.asarray(keypoints_px, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (21, 2):
        raise ValueError(f"keypoints_px must have shape (B, 21, 2), got {kp.shape}")
    m = depth.metres
    h, w = m.shape
    b = kp.shape[0]
    out = np.full((b, 21), np.nan)
    support = np.zeros((b, 21), dtype=np.int64)
    hand_depth = np.full(b, np.nan)
    radii = window_radius_px(kp)
    for i in range(b):
        r = int(radii[i])
        offsets = np.arange(-r, r + 1)
        centre = np.round(kp[i]).astype(np.int64)
        inside = (centre[:, 0] >= 0) & (centre[:, 0] < w) & (centre[:, 1] >= 0) & (centre[:, 1] < h)
        xs = np.clip(centre[:, 0, None, None] + offsets[None, None, :], 0, w - 1)
        ys = np.clip(centre[:, 1, None, None] + offsets[None, :, None], 0, h - 1)
        samples = m[ys, xs].reshape(21, -1).astype(np.float64)  # (21, (2r+1)^2)
        samples[~inside] = np.nan
        palm = samples[[0, 5, 9, 13, 17]]
        palm = palm[np.isfinite(palm)]
        if not palm.size:
            continue
        ref = hand_depth[i] = float(np.median(palm))
        with np.errstate(invalid="ignore"):
            samples[np.abs(samples - ref) > hand_length_m] = np.nan
            ordered = np.sort(samples, axis=1)  # NaN last; the nearest surface first
            count = (ordered <= (ordered[:, :1] + front_tolerance_m)).sum(1)
        # the median of each row's first ``count`` samples (the front cluster)
        rows = np.arange(21)
        lo, hi = ordered[rows, np.maximum(count - 1, 0) // 2], ordered[rows, np.maximum(count, 1) // 2]
        med = np.where(count % 2 == 1, lo, 0.5 * (lo + hi))
        ok = count >= min_support
        out[i, ok] = med[ok]
        support[i] = count
    return KeypointDepths(out, support, hand_depth)

