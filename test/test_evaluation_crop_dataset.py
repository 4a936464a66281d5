"""The evaluation command on handgraph_dev with the oracle estimator (ground truth through the DGP path)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hand_mesh_ros.evaluation.crop_dataset import load_handgraph
from hand_mesh_ros.evaluation.estimators import HandEstimate, OracleEstimator
from hand_mesh_ros.evaluation.evaluate import evaluate, main, summarise


@pytest.fixture(scope="module")
def samples(shared_data: Path):  # type: ignore[no-untyped-def]
    return load_handgraph(shared_data / "handgraph_dev", limit=12)


def test_reader_geometry_is_consistent(samples) -> None:  # type: ignore[no-untyped-def]
    s = samples[0]
    assert s.joints_cam_m.shape == (21, 3) and 0.2 < s.joints_cam_m[0, 2] < 2.0  # metres
    assert np.max(np.abs(s.camera.project(s.joints_cam_m) - s.joints_2d_px)) < 0.05
    assert s.load_rgb().shape == (256, 256, 3)


def test_oracle_without_noise_recovers_ground_truth(samples) -> None:  # type: ignore[no-untyped-def]
    summary = summarise(evaluate(samples, OracleEstimator(0.0), progress=False))
    assert summary.detection_rate == 1.0
    assert summary.cam_mpjpe_mean < 0.01 and summary.pa_mpjpe_mean < 1e-6  # mm


def test_oracle_noise_raises_errors_and_misses_count(samples) -> None:  # type: ignore[no-untyped-def]
    noisy = summarise(evaluate(samples, OracleEstimator(8.0, px_noise=1.0, seed=1), progress=False))
    assert 3.0 < noisy.pa_mpjpe_mean < 15.0 and noisy.cam_mpjpe_mean > noisy.pa_mpjpe_mean

    def blind(image: np.ndarray, camera: object) -> list[HandEstimate]:
        return []

    none = evaluate(samples, blind, progress=False)
    assert not none.detected.any() and summarise(none).auc_cam_0_50 == 0.0


def test_command_writes_table_and_plots(shared_data: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--data", str(shared_data / "handgraph_dev"), "--oracle-noise", "5", "--limit", "8",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "camera-space MPJPE" in out and "PA-MPJPE" in out
    img = cv2.imread(str(tmp_path / "pck_3d.png"))
    assert img is not None and img.shape == (480, 640, 3) and img.std() > 10
    assert (tmp_path / "pck_2d.png").is_file() and (tmp_path / "summary.json").is_file()
