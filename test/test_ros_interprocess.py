"""A HandArray crosses between two processes over loopback DDS; the guard refuses non-local discovery."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hand_mesh_ros.tools.local_dds import NonLocalDiscoveryError, local_dds_problems, require_local_dds

HELPER = Path(__file__).parent / "ros_helpers" / "publish_hand_array.py"
LOCAL = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": "42"}


def test_guard_accepts_local_settings() -> None:
    assert local_dds_problems(LOCAL) == []
    require_local_dds(LOCAL)


@pytest.mark.parametrize(
    "change",
    [
        {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"},
        {"ROS_AUTOMATIC_DISCOVERY_RANGE": ""},
        {"ROS_STATIC_PEERS": "192.168.1.5"},
        {"ROS_DOMAIN_ID": ""},
        {"FASTDDS_DEFAULT_PROFILES_FILE": "/nonexistent/profile.xml"},
    ],
)
def test_guard_refuses_non_local_settings(change: dict[str, str]) -> None:
    env = {**LOCAL, **change}
    assert local_dds_problems(env)
    with pytest.raises(NonLocalDiscoveryError, match="refusing to start ROS"):
        require_local_dds(env)


def test_helper_process_refuses_subnet_discovery() -> None:
    env = {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    proc = subprocess.run(
        [sys.executable, str(HELPER), "/never", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "refusing to start ROS" in proc.stderr


@pytest.mark.ros
def test_hand_array_crosses_processes(ros_context, ros_messages) -> None:  # type: ignore[no-untyped-def]
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    topic = f"/hand_array_test_{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), topic, "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    node = rclpy.create_node("hand_array_test_listener", context=ros_context)
    received: list[object] = []
    node.create_subscription(ros_messages.HandArray, topic, received.append, 10)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    try:
        deadline = time.monotonic() + 25
        while not received and time.monotonic() < deadline and proc.poll() is None:
            executor.spin_once(timeout_sec=0.1)
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        executor.shutdown()
        node.destroy_node()
    assert received, f"no HandArray arrived from the other process; its stderr:\n{err}"
    msg = received[0]
    assert msg.header.frame_id == "camera_color_optical_frame"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1234, 5678)
    hand = msg.hands[0]
    assert hand.id == 7 and hand.handedness == ros_messages.Hand.HANDEDNESS_LEFT
    assert hand.model_name == "open_hand"
    assert hand.joints[20].z == pytest.approx(0.52)
    assert len(hand.vertices) == 3 * 778 and hand.vertices[-1] == pytest.approx((3 * 778 - 1) * 0.5)


@pytest.mark.ros
def test_old_yaml_with_a_palm_size_stops_the_reconstruction_node(ros_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A parameter file of the previous version sets hand_size_m; the node must not start and silently
    ignore it, and must say what to set instead."""
    require_local_dds()
    params = tmp_path / "old.yaml"
    params.write_text("hand_reconstruction:\n  ros__parameters:\n    hand_size_m: 0.09\n")
    proc = subprocess.run(
        [sys.executable, "-m", "hand_mesh_ros.ros.reconstruction_node", "--ros-args", "--params-file", str(params)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "cannot start: parameter 'hand_size_m' is no longer supported" in proc.stderr
    assert "hand_length_m" in proc.stderr and "Traceback" not in proc.stderr
