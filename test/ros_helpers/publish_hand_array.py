"""Helper process for test_ros_interprocess: publishes one known HandArray repeatedly on loopback DDS.

Usage: python publish_hand_array.py TOPIC SECONDS
"""

from __future__ import annotations

import sys
import time

from hand_mesh_ros.tools.local_dds import require_local_dds


def main() -> int:
    require_local_dds()  # before rclpy is even imported
    import rclpy
    from geometry_msgs.msg import Point
    from hand_mesh_ros.msg import Hand, HandArray

    topic, seconds = sys.argv[1], float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("hand_array_test_publisher")
    pub = node.create_publisher(HandArray, topic, 10)
    msg = HandArray()
    msg.header.frame_id = "camera_color_optical_frame"
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1234, 5678
    hand = Hand(id=7, handedness=Hand.HANDEDNESS_LEFT, confidence=0.75, model=Hand.MODEL_OPEN_HAND)
    hand.joints = [Point(x=0.01 * j, y=-0.02 * j, z=0.5 + 0.001 * j) for j in range(21)]
    hand.vertices = [float(i) * 0.5 for i in range(3 * 778)]
    hand.model_name = "open_hand"
    msg.hands = [hand]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pub.publish(msg)
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
