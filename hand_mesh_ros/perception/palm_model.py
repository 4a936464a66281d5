"""The MediaPipe palm detector: raw batched inference plus whole-image detection in pixels."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .anchors import PALM_INPUT_SIZE
from .backends import InferenceBackend, device_cropper, open_converted
from .image_checks import check_batch, check_rgb_image
from .palm_decode import decode_palms
from .regions import crop_region, full_image_region, image_to_crop_matrix, project_points
from .types import HandRegion, PalmDetection

# uint8 -> [0, 1]: one float32 multiply per value.
PIXEL_SCALE = np.float32(1.0 / 255.0)


class PalmModel:
    """Palm detector (variant "full" or "lite") on a converted model, run by ONNX Runtime or PyTorch."""

    input_size = PALM_INPUT_SIZE

    def __init__(
        self,
        variant: str = "full",
        backend: str = "onnxruntime",
        device: str = "auto",
        threads: int | None = None,
        models_dir: Path | None = None,
        allow_convert: bool = False,
        precision: str = "fp16",
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.backend: InferenceBackend = open_converted(
            "palm_detection", variant, backend, device, threads, models_dir, allow_convert, precision, log
        )
        self._device_crops = device_cropper(self.backend)  # crops on the GPU next to a TensorRT engine
        self._buffers = threading.local()  # per-thread preallocated network input

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for a float32 (N, 192, 192, 3) RGB batch in [0, 1].

        Returns (boxes (N, 2016, 18): box centre/size and 7 keypoints in 192-px units relative to the anchors,
        logits (N, 2016)).
        """
        batch = check_batch(batch, self.input_size, "palm batch")
        return _boxes_and_logits(self.backend.run(batch))

    def detect(self, image: np.ndarray, min_score: float = 0.5, region: HandRegion | None = None
               ) -> list[PalmDetection]:
        """Palms in an HxWx3 uint8 RGB image, best first, in image px. ``region``: the square part of the image
        to look at (None: the whole image, letterboxed); it is scaled to 192x192, zero outside the image."""
        image = check_rgb_image(image)
        h, w = image.shape[:2]
        region = full_image_region(w, h) if region is None else region
        if self._device_crops is not None:
            to_crop = image_to_crop_matrix(region, self.input_size, (w, h))
            boxes, scores = _boxes_and_logits(self._device_crops.run(image, [to_crop], cv2.BORDER_CONSTANT))
            to_image = np.linalg.inv(to_crop.astype(np.float64))
        else:
            crop, to_image = crop_region(image, region, self.input_size, cv2.BORDER_CONSTANT)
            batch = getattr(self._buffers, "batch", None)
            if batch is None:
                batch = self._buffers.batch = np.empty((1, self.input_size, self.input_size, 3), np.float32)
            np.multiply(crop, PIXEL_SCALE, out=batch[0])
            boxes, scores = self.run(batch)
        out = []
        for p in decode_palms(boxes[0], scores[0], min_score):
            corners = project_points(p.box.reshape(2, 2) * self.input_size, to_image)
            kps = project_points(p.keypoints * self.input_size, to_image)
            out.append(PalmDetection(p.score, corners.reshape(4), kps))
        return out


def _boxes_and_logits(outputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The network's (boxes, scores) with the scores' trailing axis dropped: (N, 2016, 18), (N, 2016)."""
    boxes, scores = outputs
    return boxes, scores.reshape(scores.shape[0], -1)
