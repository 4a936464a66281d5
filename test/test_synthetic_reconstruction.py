"""The real perception and reconstruction find the synthetic hands where the ground truth says they are."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.synthetic import SyntheticSequence, load_or_make_sequence, match_hands


@pytest.fixture(scope="module")
def sequence(prepared: None) -> SyntheticSequence:
    return load_or_make_sequence()  # the default 60-frame sequence, cached


def _reconstructor(**overrides: object):  # type: ignore[no-untyped-def]
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    try:
        return HandReconstructor(ReconstructionConfig(**overrides))  # type: ignore[arg-type]
    except ModelNotConvertedError as exc:
        pytest.skip(f"perception models not converted: {exc}")


def _perception():  # type: ignore[no-untyped-def]
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.perception.pipeline import HandPerception

    try:
        return HandPerception()
    except ModelNotConvertedError as exc:
        pytest.skip(f"perception models not converted: {exc}")


def test_reconstruction_finds_the_right_hand_near_the_truth(sequence: SyntheticSequence) -> None:
    rec = _reconstructor()
    wrist_px = []
    for frame in sequence.frames[:12]:
        result = rec.process_frame(frame.rgb, sequence.camera, frame.stamp_s)
        truth = frame.hand("right")
        assert truth is not None
        live = [h for h in result.hands if not h.held]
        assert live, f"no hand found in frame {frame.index}"
        best = min(live, key=lambda h: np.linalg.norm(h.joints_px[0] - truth.joints_px[0]))
        wrist_px.append(float(np.linalg.norm(best.joints_px[0] - truth.joints_px[0])))
        assert best.handedness == "right"
        (m,) = match_hands(frame.hands, result.hands)
        assert m.found and m.mm_error_aligned is not None and m.mm_error_aligned < 40.0
    assert max(wrist_px) < 25.0, wrist_px


def test_perception_finds_both_hands_with_small_landmark_error(sequence: SyntheticSequence) -> None:
    perception = _perception()
    errors = []
    for frame in sequence.frames[28:40]:
        obs = perception.process(frame.rgb)
        for truth in frame.hands:
            near = [o for o in obs if np.linalg.norm(o.landmarks_px[0, :2] - truth.joints_px[0]) < 25.0]
            if frame.index == 30 and truth.side == "left":
                continue  # the left hand appears in this frame; tracking starts when the detector sees it
            assert near, f"{truth.side} hand missed in frame {frame.index}"
            assert near[0].handedness == truth.side
            errors.append(np.linalg.norm(near[0].landmarks_px[:, :2] - truth.joints_px, axis=1).mean())
    assert np.mean(errors) < 8.0, errors


def test_reconstruction_finds_both_hands(sequence: SyntheticSequence) -> None:
    rec = _reconstructor()
    found_both = 0
    for frame in sequence.frames[:45]:
        result = rec.process_frame(frame.rgb, sequence.camera, frame.stamp_s)
        if frame.index >= 33:
            found_both += sum(m.found for m in match_hands(frame.hands, result.hands)) == 2
    assert found_both >= 11
