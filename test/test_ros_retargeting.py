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


def test_bad_hands_are_logged_and_counted(ros_context, prepared: None, capfd) -> None:  # type: ignore[no-untyped-def]
    """A hand with a zero quaternion, one without a side, one below min_confidence and a message with no hand:
    nothing is published for them, each is logged and counted; a good hand in the same message still drives."""
    pytest.importorskip("dex_retargeting")
    if not (ROBOTS_DIR / "leap_hand").is_dir():
        pytest.skip(f"robot URDFs not found in {ROBOTS_DIR}")
    import numpy as np
    from geometry_msgs.msg import Point
    from hand_mesh_ros.msg import Hand, HandArray
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros.hand_msgs import quaternion_from_matrix
    from hand_mesh_ros.ros.retargeting_node import RetargetingNode
    from hand_mesh_ros.synthetic import load_or_make_sequence

    truth = load_or_make_sequence(num_frames=30, motion="lateral")[5].hands[0]

    def hand(hid: int, side: int, confidence: float, quaternion: tuple[float, ...] | None = None) -> Any:
        h = Hand(id=hid, handedness=side, confidence=confidence)
        h.joints = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in truth.joints]
        q = quaternion_from_matrix(truth.wrist_rotation) if quaternion is None else np.array(quaternion)
        h.wrist_pose.orientation.x, h.wrist_pose.orientation.y = float(q[0]), float(q[1])
        h.wrist_pose.orientation.z, h.wrist_pose.orientation.w = float(q[2]), float(q[3])
        return h

    node = RetargetingNode(context=ros_context, parameter_overrides=[
        Parameter("autostart", value=False), Parameter("urdf_dir", value=str(ROBOTS_DIR)),
        Parameter("sides", value="right")])
    try:
        assert node.on_configure(None) == TransitionCallbackReturn.SUCCESS  # type: ignore[arg-type]
        published: list[Any] = []
        node._pubs["joints_right"].publish = published.append  # type: ignore[method-assign]
        msg = HandArray()
        msg.header.stamp.sec = 7
        msg.hands = [hand(1, Hand.HANDEDNESS_RIGHT, 0.9, (0.0, 0.0, 0.0, 0.0)),  # zero quaternion
                     hand(2, Hand.HANDEDNESS_UNKNOWN, 0.9),
                     hand(3, Hand.HANDEDNESS_RIGHT, 0.2),  # below min_confidence
                     hand(4, Hand.HANDEDNESS_RIGHT, 0.9)]  # the good one
        node._on_hands(msg)
        assert len(published) == 1 and published[0].header.stamp.sec == 7 and len(published[0].name) == 16
        node._on_hands(HandArray())  # no hand at all
        health = node._health
        assert health is not None
        assert health.errors["bad_hand"] == 1
        assert health.events["unknown_handedness"] == 1 and health.events["low_confidence"] == 1
        assert health.drops["no_hand_to_retarget"] == 1 and len(published) == 1
    finally:
        node.destroy_node()
    err = capfd.readouterr().err
    assert "bad_hand: hand 1: not a rotation quaternion" in err
    assert "unknown_handedness: hand 2 has no side" in err
    assert "low_confidence: the hand's confidence is below min_confidence" in err
    assert "dropped 1 frame(s), no_hand_to_retarget: no hand in the message" in err


def test_out_of_range_parameter_exits_with_the_reason(tmp_path: Path) -> None:
    """`-p min_confidence:=1.5` (outside the declared range): one [FATAL] line naming it, exit 1, no traceback."""
    import subprocess

    from hand_mesh_ros.tools.launcher import node_command
    from hand_mesh_ros.tools.local_dds import require_local_dds

    require_local_dds()
    proc = subprocess.run(node_command("retargeting_node", params=["min_confidence:=1.5"]), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "[FATAL] cannot start:" in proc.stderr and "min_confidence" in proc.stderr
    assert "Traceback" not in proc.stderr
