"""The real perception + DGP estimator on a few handgraph_dev crops (skips without converted models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.evaluation.crop_dataset import load_handgraph
from hand_mesh_ros.evaluation.evaluate import evaluate, summarise


@pytest.mark.parametrize("rectify", ["off", "full"])
def test_perception_estimator_places_hands_in_camera_space(shared_data: Path, rectify: str) -> None:
    from hand_mesh_ros.evaluation.perception_estimator import make_estimator

    try:
        estimator = make_estimator(refine=False, rectify=rectify)
    except FileNotFoundError as exc:  # models not converted on this machine
        pytest.skip(f"perception models not available: {exc}")
    samples = load_handgraph(shared_data / "handgraph_dev", limit=6)
    result = evaluate(samples, estimator, progress=False)
    summary = summarise(result)
    assert summary.detection_rate == 1.0
    # full set: 27 mm mean camera-space error; a wrong camera model or lost depth would give >> 100 mm
    assert summary.cam_mpjpe_mean < 60.0
    assert summary.pa_mpjpe_mean < 20.0
    assert np.all(result.depth_err_mm < 120.0)
