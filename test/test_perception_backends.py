"""ONNX Runtime and PyTorch run the converted networks to the same numbers, with a dynamic batch axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from perception_fixtures import converted_models, data_dir, load_rgb  # noqa: F401 - fixture

from hand_mesh_ros.perception.landmark_model import LandmarkModel
from hand_mesh_ros.perception.palm_model import PalmModel
from hand_mesh_ros.perception.regions import crop_region, full_image_region, region_from_palm

# Tolerances between ONNX Runtime and PyTorch (float32, different kernels); measured ~1e-4.
PALM_TOL = 2e-3  # raw box values in 192-px units and logits
LANDMARK_PX_TOL = 2e-3  # crop px
PROB_TOL = 1e-4
WORLD_TOL = 1e-5  # metres


@pytest.fixture(scope="module")
def hands_image() -> np.ndarray:
    return load_rgb(data_dir("mediapipe_reference") / "hands.jpg")


@pytest.mark.parametrize("variant", ["full", "lite"])
def test_palm_backends_agree(variant: str, converted_models: Path, hands_image: np.ndarray) -> None:  # noqa: F811
    ort_model = PalmModel(variant, "onnxruntime", models_dir=converted_models)
    torch_model = PalmModel(variant, "torch", models_dir=converted_models)
    crop, _ = crop_region(hands_image, full_image_region(720, 382), 192)
    batch = np.stack([crop, crop[:, ::-1]]).astype(np.float32) / 255
    a_boxes, a_scores = ort_model.run(batch)
    b_boxes, b_scores = torch_model.run(batch)
    assert a_boxes.shape == (2, 2016, 18) and a_scores.shape == (2, 2016)
    assert np.abs(a_boxes - b_boxes).max() < PALM_TOL
    assert np.abs(a_scores - b_scores).max() < PALM_TOL
    single, _ = ort_model.run(batch[1:])
    assert np.abs(single[0] - a_boxes[1]).max() < PALM_TOL
    assert len(ort_model.detect(hands_image)) == 2


@pytest.mark.parametrize("variant", ["full", "lite"])
def test_landmark_backends_agree(variant: str, converted_models: Path, hands_image: np.ndarray) -> None:  # noqa: F811
    palms = PalmModel(variant, models_dir=converted_models).detect(hands_image)
    ort_model = LandmarkModel(variant, "onnxruntime", models_dir=converted_models)
    torch_model = LandmarkModel(variant, "torch", models_dir=converted_models)
    crops = np.stack([ort_model.crop(hands_image, region_from_palm(p.box, p.keypoints))[0] for p in palms])
    a = ort_model.run(crops)
    b = torch_model.run(crops)
    assert a.landmarks.shape == (2, 21, 3) and a.world.shape == (2, 21, 3) and a.presence.shape == (2,)
    assert np.all(a.presence > 0.9)
    assert np.abs(a.landmarks - b.landmarks).max() < LANDMARK_PX_TOL
    assert np.abs(a.presence - b.presence).max() < PROB_TOL
    assert np.abs(a.handedness - b.handedness).max() < PROB_TOL
    assert np.abs(a.world - b.world).max() < WORLD_TOL


def test_lite_models_find_the_same_hands(converted_models: Path, hands_image: np.ndarray) -> None:  # noqa: F811
    from hand_mesh_ros.perception.pipeline import HandPerception

    full = HandPerception(models_dir=converted_models).process(hands_image, static=True)
    lite = HandPerception(variant="lite", models_dir=converted_models).process(hands_image, static=True)
    assert len(full) == len(lite) == 2
    for f in full:
        nearest = min(lite, key=lambda o: float(np.abs(o.landmarks_px[:, :2] - f.landmarks_px[:, :2]).max()))
        assert np.abs(nearest.landmarks_px[:, :2] - f.landmarks_px[:, :2]).max() < 15.0
        assert nearest.handedness == f.handedness


@pytest.mark.gpu
def test_torch_cuda_matches_onnxruntime(converted_models: Path, hands_image: np.ndarray) -> None:  # noqa: F811
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    palms = PalmModel("full", models_dir=converted_models).detect(hands_image)
    cpu = LandmarkModel("full", models_dir=converted_models)
    gpu = LandmarkModel("full", "torch", device="cuda", models_dir=converted_models)
    crops = np.stack([cpu.crop(hands_image, region_from_palm(p.box, p.keypoints))[0] for p in palms])
    a, b = cpu.run(crops), gpu.run(crops)
    # cuDNN may use TF32 / other algorithms: a looser bound than CPU vs CPU.
    assert np.abs(a.landmarks - b.landmarks).max() < 0.05
    assert np.abs(a.world - b.world).max() < 1e-4
