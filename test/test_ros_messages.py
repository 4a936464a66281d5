"""Our messages build, serialize and round-trip; the tf2_msgs we use has upstream's type hash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _filled_hand_array(msg):  # type: ignore[no-untyped-def]
    from geometry_msgs.msg import Point

    # scores exact in float32, so the round trip compares equal
    hand = msg.Hand(id=3, handedness=msg.Hand.HANDEDNESS_RIGHT, handedness_score=0.875, confidence=0.625)
    hand.joint_confidences = np.linspace(0, 1, 21, dtype=np.float32)
    hand.joints = [Point(x=0.1 * j, y=0.2, z=0.5 + j) for j in range(21)]
    hand.joints_px = [Point(x=10.0 * j, y=20.0, z=0.0) for j in range(21)]
    hand.pose = np.arange(48, dtype=np.float32) / 48
    hand.shape = np.arange(10, dtype=np.float32)
    hand.model, hand.model_name, hand.state = msg.Hand.MODEL_MANO, "mano", msg.Hand.STATE_HELD
    hand.wrist_pose.position.z = 0.5
    hand.wrist_pose.orientation.w = 1.0
    hand.vertices = np.random.default_rng(0).random(3 * 778).astype(np.float32).tobytes()
    array = msg.HandArray(hands=[hand, msg.Hand(id=4)])
    array.header.frame_id = "camera_optical_frame"
    array.header.stamp.sec, array.header.stamp.nanosec = 17, 99
    return array


def test_hand_array_round_trip(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from rclpy.serialization import deserialize_message, serialize_message

    original = _filled_hand_array(ros_messages)
    data = serialize_message(original)
    back = deserialize_message(data, ros_messages.HandArray)
    assert back == original
    assert back.hands[0].joints[20].z == pytest.approx(20.5)
    assert len(back.hands[0].vertices) == 3 * 778
    assert back.hands[1].id == 4 and len(back.hands[1].vertices) == 0
    assert back.header.stamp.nanosec == 99


def test_detection_array_round_trip(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from rclpy.serialization import deserialize_message, serialize_message

    left = ros_messages.HandDetection.HANDEDNESS_LEFT
    det = ros_messages.HandDetection(id=1, score=0.9375, handedness=left)
    det.palm_keypoints = np.arange(14, dtype=np.float32)
    det.region_angle = -0.25
    array = ros_messages.HandDetectionArray(detections=[det])
    array.header.frame_id = "cam"
    back = deserialize_message(serialize_message(array), ros_messages.HandDetectionArray)
    assert back == array
    assert list(back.detections[0].palm_keypoints) == list(range(14))


def test_fixed_arrays_have_documented_sizes(ros_messages) -> None:  # type: ignore[no-untyped-def]
    hand = ros_messages.Hand()
    fields = (hand.joints, hand.joints_px, hand.joint_confidences, hand.pose, hand.shape)
    sizes = tuple(len(f) for f in fields)
    assert sizes == (21, 21, 21, 48, 10)
    assert len(ros_messages.HandDetection().palm_keypoints) == 14


def test_mesh_topology_message(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from rclpy.serialization import deserialize_message, serialize_message

    topo = ros_messages.MeshTopology(model=ros_messages.Hand.MODEL_OPEN_HAND, num_vertices=4)
    topo.triangles = np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32)
    back = deserialize_message(serialize_message(topo), ros_messages.MeshTopology)
    assert list(back.triangles) == [0, 1, 2, 0, 2, 3]


def test_tf2_msgs_type_hash_matches_upstream(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from ament_index_python.packages import get_package_share_directory

    description = Path(get_package_share_directory("tf2_msgs")) / "msg" / "TFMessage.json"
    hashes = json.loads(description.read_text())["type_hashes"]
    own = next(h["hash_string"] for h in hashes if h["type_name"] == "tf2_msgs/msg/TFMessage")
    assert own == "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"
