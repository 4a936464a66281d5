"""GPU-side crops (torch) equal the CPU crops bit for bit; run here on the CPU, and on CUDA when present."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from hand_mesh_ros.gpu.warp_torch import crops_into, warp_batch
from hand_mesh_ros.perception.landmark_model import PIXEL_SCALE
from hand_mesh_ros.perception.regions import crop_region, full_image_region, image_to_crop_matrix
from hand_mesh_ros.perception.types import HandRegion

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def random_regions(rng: np.random.Generator, n: int) -> list[HandRegion]:
    out = []
    for _ in range(n):  # inside, across and beyond the image borders, any rotation
        side = float(rng.uniform(40, 700))
        out.append(HandRegion(float(rng.uniform(-80, 720)), float(rng.uniform(-80, 560)), side, side,
                              float(rng.uniform(-np.pi, np.pi))))
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE])
def test_crops_equal_cpu_crops(device: str, border: int) -> None:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    regions = random_regions(rng, 12)
    mats = [image_to_crop_matrix(r, 224, (640, 480)) for r in regions]
    got = warp_batch(torch.from_numpy(image).to(device), mats, 224, border).cpu().numpy()
    want = np.stack([crop_region(image, r, 224, border)[0] for r in regions])
    assert np.array_equal(got, want)


@pytest.mark.parametrize("device", DEVICES)
def test_network_input_equals_cpu_input(device: str) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    region = full_image_region(1280, 720)  # the palm detector's letterbox
    out = torch.empty((2, 192, 192, 3), dtype=torch.float32, device=device)
    got = crops_into(out, torch.from_numpy(image).to(device), [image_to_crop_matrix(region, 192, (1280, 720))])
    crop, _ = crop_region(image, region, 192, cv2.BORDER_CONSTANT)
    assert got.shape == (1, 192, 192, 3)
    assert np.array_equal(got.cpu().numpy()[0], np.multiply(crop, PIXEL_SCALE, dtype=np.float32))


def test_bad_input_is_refused() -> None:
    image = torch.zeros((10, 10, 3), dtype=torch.uint8)
    with pytest.raises(ValueError, match="singular"):
        warp_batch(image, [np.zeros((3, 3))], 8)
    with pytest.raises(ValueError, match="uint8"):
        warp_batch(image.float(), [np.eye(3)], 8)
    with pytest.raises(ValueError, match="border"):
        warp_batch(image, [np.eye(3)], 8, cv2.BORDER_REFLECT)
