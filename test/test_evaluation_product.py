"""The product path (HandReconstructor) as an evaluation estimator, and the CLI's --pipeline option.

Skips when the converted perception models are not in the cache.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.evaluation.crop_dataset import load_handgraph
from hand_mesh_ros.evaluation.evaluate import evaluate, main, summarise


@pytest.fixture(scope="module")
def product(shared_data: Path):  # type: ignore[no-untyped-def]
    from hand_mesh_ros.evaluation.product_estimator import ProductEstimator

    try:
        return ProductEstimator("joints")
    except FileNotFoundError as exc:  # models not converted on this machine
        pytest.skip(f"perception models not available: {exc}")


def test_product_estimator_places_hands_in_camera_space(product, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    samples = load_handgraph(shared_data / "handgraph_dev", limit=4)
    result = evaluate(samples, product, progress=False)
    summary = summarise(result)
    assert summary.detection_rate == 1.0
    # full set: about 20-23 mm; a wrong camera model, frame or lost scale would give >> 100 mm
    assert summary.cam_mpjpe_mean < 60.0
    assert summary.pa_mpjpe_mean < 20.0
    assert np.all(result.depth_err_mm < 120.0)
    # the estimator resets the reconstructor per image: the same image twice gives the same hand
    image = samples[0].load_rgb()
    a = product(image, samples[0].camera)
    b = product(image, samples[0].camera)
    assert len(a) == len(b) >= 1
    np.testing.assert_allclose(a[0].joints_cam_m, b[0].joints_cam_m, atol=1e-9)


def test_model_output_scores_the_fitted_model_keypoints(product, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    sample = load_handgraph(shared_data / "handgraph_dev", limit=1)[0]
    image = sample.load_rgb()
    joints = product(image, sample.camera)[0]
    product.output = "model"
    try:
        model = product(image, sample.camera)[0]
    finally:
        product.output = "joints"
    assert model.joints_cam_m.shape == (21, 3) and np.all(np.isfinite(model.joints_cam_m))
    np.testing.assert_allclose(model.keypoints_px, sample.camera.project(model.joints_cam_m), atol=1e-6)
    # a fit of the same hand: close to the published joints (centimetres), but not a copy of them
    gap = np.linalg.norm(model.joints_cam_m - joints.joints_cam_m, axis=-1)
    assert gap.mean() < 0.03
    assert gap.max() > 1e-5


def test_product_estimator_refuses_bad_options() -> None:
    from hand_mesh_ros.evaluation.product_estimator import ProductEstimator

    with pytest.raises(ValueError, match="output"):
        ProductEstimator("mesh")
    with pytest.raises(ValueError, match="smoothing"):
        ProductEstimator("joints", smoothing=True)


def test_cli_pipeline_product_prints_table_and_writes_plots(product, shared_data: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    rc = main(["--data", str(shared_data / "handgraph_dev"), "--pipeline", "product", "--start", "10",
               "--limit", "12", "--out", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert re.search(r"\| samples\s+\| 2 \|", table)  # --start 10 --limit 12: samples 10 and 11
    assert re.search(r"\| camera-space MPJPE mean / median\s+\| [0-9.]+ / [0-9.]+ mm \|", table)
    for name in ("pck_3d.png", "pck_2d.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert '"n_samples": 2' in (out / "summary.json").read_text()
