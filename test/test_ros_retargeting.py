"""The retargeting node as a process beside the two perception nodes, on loopback DDS: rendered frames with a
right and a left hand in, LEAP hand joint states out for both sides, stamped with the image stamps, named as in
the URDF; and a clear configure failure when the robot URDFs are missing."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from hand_mesh_ros.paths import data_dir

pytestmark = pytest.mark.ros
ROBOTS_DIR = data_dir().parent / "robots"


def _urdf_joints(path: Path) -> set[str]:
    return {j.get("name", "") for j in ET.parse(path).getroot().iter("joint") if j.get("type") != "fixed"}


def test_joint_states_for_both_hands_with_image_stamps(prepared: None, tmp_path: Path) -> None:
    pytest.importorskip("dex_retargeting")
    if not (ROBOTS_DIR / "leap_hand").is_dir():
        pytest.skip(f"robot URDFs not found in {ROBOTS_DIR}")
    rclpy = pytest.importorskip("rclpy")
    from sensor_msgs.msg import JointState

    from hand_mesh_ros.ros.qos import RESULTS
    from hand_mesh_ros.synthetic import load_or_make_sequence
    from hand_mesh_ros.tools.launcher import NodeProcesses
    from hand_mesh_ros.tools.local_dds import require_local_dds
    from hand_mesh_ros.tools.player import FramePlayer
    from hand_mesh_ros.tools.result_listener import ResultListener

    require_local_dds()
    seq = load_or_make_sequence()  # the default sequence: both hands in its second half
    frames = [f.rgb for f in seq if len(f.hands) == 2][:20]
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("retargeting_test_driver", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    listener = ResultListener(node)
    states: dict[str, dict[tuple[int, int], Any]] = {"right": {}, "left": {}}
    for side in states:
        node.create_subscription(JointState, f"leap_hand_{side}/joint_states",
                                 lambda m, s=side: states[s].__setitem__((m.header.stamp.sec, m.header.stamp.nanosec),
                                                                         m), RESULTS)
    player = FramePlayer(node, frame_id="camera_optical_frame")
    params = {"retargeting_node": [f"urdf_dir:={ROBOTS_DIR}", "robot:=leap_hand"]}
    stamps = []
    try:
        with NodeProcesses(log_dir=tmp_path, params=params,
                           nodes=("detector_node", "reconstruction_node", "retargeting_node")) as procs:
            deadline = time.monotonic() + 120
            while not states["right"] and time.monotonic() < deadline and procs.alive():
                player.publish(frames[0], seq.camera)
                end = time.monotonic() + 2.0
                while not states["right"] and time.monotonic() < end:
                    executor.spin_once(timeout_sec=0.05)
            assert states["right"], "no joint states came back:\n" + procs.logs()
            base_ns = node.get_clock().now().nanoseconds
            for i, rgb in enumerate(frames):
                header = player.publish(rgb, seq.camera, stamp_ns=base_ns + i * 33_333_333)
                stamp = (header.stamp.sec, header.stamp.nanosec)
                stamps.append(stamp)
                end = time.monotonic() + 10.0
                while not (stamp in states["right"] and stamp in states["left"]) and time.monotonic() < end:
                    executor.spin_once(timeout_sec=0.01)
            logs = procs.logs()
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    image_stamps = set(stamps)
    for side in ("right", "left"):
        got = {s: m for s, m in states[side].items() if s in image_stamps}
        assert len(got) >= 0.8 * len(frames), f"{side}: {len(got)} of {len(frames)} frames\n{logs}"
        for stamp, msg in got.items():
            assert stamp in listener.received.hands  # a joint state only for a stamp that produced hands
            assert set(msg.name) == _urdf_joints(ROBOTS_DIR / "leap_hand" / f"leap_hand_{side}.urdf")
            assert len(msg.position) == len(msg.name)
    assert "retargeting to leap_hand (right, left, vector)" in logs


def test_missing_urdfs_fail_configure_with_the_reason(ros_context, tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("dex_retargeting")
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros.retargeting_node import RetargetingNode

    node = RetargetingNode(context=ros_context, parameter_overrides=[
        Parameter("autostart", value=False), Parameter("urdf_dir", value=str(tmp_path / "none"))])
    try:
        assert node.on_configure(None) == TransitionCallbackReturn.FAILURE  # type: ignore[arg-type]
        node.set_parameters([Parameter("urdf_dir", value="")])
        assert node.on_configure(None) == TransitionCallbackReturn.FAILURE  # type: ignore[arg-type]
    finally:
        node.destroy_node()
    err = capfd.readouterr().err
    assert "cannot configure retargeting: URDF folder" in err and "does not exist" in err
    assert "urdf_dir is empty" in err
