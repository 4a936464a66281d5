"""Network inputs cut on the GPU: the frame is uploaded once per call through pinned memory and the crops are
written straight into a TensorRT engine's input buffer (bit-identical to the CPU crops)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .trt_engine import TensorRTBackend
from .warp_torch import crops_into


class DeviceCropper:
    """Crops frames on ``backend``'s device and stream and runs ``backend`` on them."""

    def __init__(self, backend: TensorRTBackend) -> None:
        self.backend = backend
        self._host: Any = None
        self._dev: Any = None

    def _upload(self, image: np.ndarray) -> Any:
        import torch

        if self._host is None or tuple(self._host.shape) != image.shape:
            self._host = torch.empty(image.shape, dtype=torch.uint8, pin_memory=True)
            self._dev = torch.empty(image.shape, dtype=torch.uint8, device=self.backend.device)
        self._host.numpy()[...] = image
        with torch.cuda.stream(self.backend.stream):
            self._dev.copy_(self._host, non_blocking=True)
        return self._dev

    def run(self, image: np.ndarray, image_to_crop: list[np.ndarray], border: int) -> tuple[np.ndarray, ...]:
        """The backend's outputs for the crops of an HxWx3 uint8 image given by N 3x3 image->crop matrices."""
        import torch

        outs = []
        step = self.backend.max_batch
        with self.backend.lock:
            dev = self._upload(image)
            for k in range(0, len(image_to_crop), step):
                mats = image_to_crop[k : k + step]
                with torch.cuda.stream(self.backend.stream):
                    crops_into(self.backend.input_buffer(len(mats)), dev, mats, border)
                outs.append(self.backend.run_filled(len(mats)))
        return outs[0] if len(outs) == 1 else tuple(np.concatenate(p) for p in zip(*outs, strict=True))
