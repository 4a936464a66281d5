"""The MediaPipe hand landmark network: batched raw inference and per-region landmarks in image pixels."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from .backends import InferenceBackend, device_cropper, open_converted
from .image_checks import check_batch
from .regions import crop_region, image_to_crop_matrix, project_points
from .types import HandRegion

# uint8 -> [0, 1]: one float32 multiply per value.
PIXEL_SCALE = np.float32(1.0 / 255.0)

LANDMARK_INPUT_SIZE = 224
NUM_LANDMARKS = 21
# MediaPipe divides the raw z by the input width and by this factor (training-data z distribution).
Z_NORMALIZATION = 0.4


class LandmarkBatch(NamedTuple):
    """Raw landmark-model outputs for N crops.

    landmarks: (N, 21, 3) crop px (x, y) and raw z; presence: (N,) probability a hand is in the crop;
    handedness: (N,) probability of MediaPipe's *mirrored* label "Left", i.e. of a true right hand in a
    normal (non-mirrored) camera image; world: (N, 21, 3) metres in the crop's axes.
    """

    landmarks: np.ndarray
    presence: np.ndarray
    handedness: np.ndarray
    world: np.ndarray


class RegionLandmarks(NamedTuple):
    """Landmarks of one region mapped to the image: landmarks_px (21, 3) [x px, y px, z px-scaled],
    world_m (21, 3) metres (rotated into image axes), presence, p_true_right (non-mirrored image)."""

    landmarks_px: np.ndarray
    world_m: np.ndarray
    presence: float
    p_true_right: float


class LandmarkModel:
    """Hand landmark network (variant "full" or "lite") on a converted model."""

    input_size = LANDMARK_INPUT_SIZE

    def __init__(
        self,
        variant: str = "full",
        backend: str = "onnxruntime",
        device: str = "auto",
        threads: int | None = None,
        models_dir: Path | None = None,
        allow_convert: bool = False,
        border: int = cv2.BORDER_REPLICATE,
        precision: str = "fp16",
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.backend: InferenceBackend = open_converted(
            "hand_landmark", variant, backend, device, threads, models_dir, allow_convert, precision, log
        )
        self._device_crops = device_cropper(self.backend)  # crops on the GPU next to a TensorRT engine
        self.border = border
        self._buffers = threading.local()  # per-thread preallocated network input

    def run(self, crops: np.ndarray) -> LandmarkBatch:
        """Run the network on float32 (N, 224, 224, 3) RGB crops in [0, 1]."""
        crops = check_batch(crops, self.input_size, "landmark crops")
        return _as_batch(self.backend.run(crops))

    def crop(self, image: np.ndarray, region: HandRegion) -> tuple[np.ndarray, np.ndarray]:
        """Crop a region into a float32 (224, 224, 3) [0, 1] network input.

        Also returns the 3x3 crop px -> image px matrix.
        """
        crop, to_image = crop_region(image, region, self.input_size, self.border)
        return np.multiply(crop, PIXEL_SCALE, dtype=np.float32), to_image

    def process_regions(self, image: np.ndarray, regions: list[HandRegion]) -> list[RegionLandmarks]:
        """Crop every region of an RGB uint8 image, run one batch, and map the results back to the image."""
        if not regions:
            return []
        size = self.input_size
        if self._device_crops is not None:
            to_crop = [image_to_crop_matrix(r, size, (image.shape[1], image.shape[0])) for r in regions]
            out = _as_batch(self._device_crops.run(image, to_crop, self.border))
            return [uncrop(out, k, region, np.linalg.inv(m.astype(np.float64)))
                    for k, (region, m) in enumerate(zip(regions, to_crop, strict=True))]
        batch = getattr(self._buffers, "batch", None)
        if batch is None or batch.shape[0] < len(regions):
            batch = self._buffers.batch = np.empty((len(regions), size, size, 3), np.float32)
        mats = []
        for k, region in enumerate(regions):
            crop, to_image = crop_region(image, region, size, self.border)
            np.multiply(crop, PIXEL_SCALE, out=batch[k])
            mats.append(to_image)
        out = self.run(batch[: len(regions)])
        return [
            uncrop(out, k, region, mat) for k, (region, mat) in enumerate(zip(regions, mats, strict=False))
        ]


def _as_batch(outputs: tuple[np.ndarray, ...]) -> LandmarkBatch:
    lm, presence, handed, world = outputs
    n = lm.shape[0]
    return LandmarkBatch(
        lm.reshape(n, NUM_LANDMARKS, 3),
        presence.reshape(n),
        handed.reshape(n),
        world.reshape(n, NUM_LANDMARKS, 3),
    )


def uncrop(out: LandmarkBatch, k: int, region: HandRegion, crop_to_image: np.ndarray) -> RegionLandmarks:
    """Map crop ``k`` of a batch back to image pixels (x, y), px-scaled depth z and rotated world metres."""
    lm = project_points(out.landmarks[k], crop_to_image)
    lm[:, 2] = out.landmarks[k][:, 2] * (region.w / (LANDMARK_INPUT_SIZE * Z_NORMALIZATION))
    c, s = math.cos(region.angle), math.sin(region.angle)
    wx, wy = out.world[k][:, 0].astype(np.float64), out.world[k][:, 1].astype(np.float64)
    world = np.stack([c * wx - s * wy, s * wx + c * wy, out.world[k][:, 2].astype(np.float64)], axis=1)
    return RegionLandmarks(lm, world, float(out.presence[k]), float(out.handedness[k]))
