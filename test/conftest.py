"""Shared test fixtures: the real-data folder and a ROS context that only starts on loopback DDS."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA


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
