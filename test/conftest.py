"""Shared test fixtures: the real-data folder and a ROS context that only starts on loopback DDS."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hand_mesh_ros.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = data_dir()  # $HAND_MESH_ROS_DATA, else ../shared/data beside the checkout
ASL_VIDEO = "mediapipe_reference/asl_hand.25fps.mp4"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (``$HAND_MESH_ROS_DATA`` or ``../shared/data``); tests that need it skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present (set HAND_MESH_ROS_DATA to use one elsewhere)")
    return SHARED_DATA


@dataclass(frozen=True)
class HandFrames:
    """Consecutive frames of moving hands for the node tests: ``hands`` visible in every frame, seen by
    ``camera``; ``source`` says which (the real ASL video when the data is there, else generated frames)."""

    frames: list[np.ndarray]
    camera: Any
    hands: int
    source: str


@pytest.fixture(scope="session")
def hand_frames() -> HandFrames:
    """30 frames: the ASL video's first (one hand) when the real data is there, else the generated sequence's
    two-hand frames (rendered once and cached), so that a fresh clone without the data still tests the nodes."""
    from hand_mesh_ros.geometry.camera import CameraModel

    video = SHARED_DATA / ASL_VIDEO
    if video.is_file():
        from hand_mesh_ros.tools.frame_source import read_frames

        frames = list(read_frames(video, limit=30))
        h, w = frames[0].shape[:2]
        return HandFrames(frames, CameraModel.pinhole(w, h, float(h)), 1, "ASL video")
    from hand_mesh_ros.synthetic import load_or_make_sequence

    seq = load_or_make_sequence()  # the default 60-frame sequence, cached
    both = [f.rgb for f in seq.frames if len(f.hands) == 2]
    assert len(both) >= 30, "the generated sequence should show both hands in 30 frames"
    return HandFrames(both[:30], seq.camera, 2, "generated two-hand frames")


def _rclpy_or_skip():  # type: ignore[no-untyped-def]
    try:
        import rclpy
    except ImportError as exc:
        if os.environ.get("HAND_MESH_ROS_REQUIRE_ROS") == "1":
            raise
        pytest.skip(f"rclpy not importable ({exc}); run through tools/run_tests.sh")
    return rclpy


@pytest.fixture()
def ros_context() -> Iterator[object]:
    """An initialised rclpy context; refuses to start unless DDS discovery is limited to localhost."""
    rclpy = _rclpy_or_skip()
    from hand_mesh_ros.tools.local_dds import require_local_dds

    require_local_dds()
    context = rclpy.context.Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.shutdown(context=context)


@pytest.fixture(scope="session")
def ros_messages() -> object:
    """The generated message module (skips when the interfaces are not built and ROS is optional)."""
    _rclpy_or_skip()
    import hand_mesh_ros.msg as msg

    return msg


@pytest.fixture(scope="session")
def prepared() -> None:
    """The open hand model, prepared (idempotent); tests skip when its npm asset cannot be fetched."""
    from hand_mesh_ros.handmodel.prepare import prepare

    try:
        prepare()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        pytest.skip(f"open hand asset unavailable (network/npm): {exc}")


@pytest.fixture(scope="module")
def reconstructor():  # type: ignore[no-untyped-def]
    """A HandReconstructor with the default settings, one per test module (it tracks: modules do not share it);
    skips when the models or the hand model are not prepared."""
    pytest.importorskip("onnxruntime")
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    try:
        return HandReconstructor(ReconstructionConfig())
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
