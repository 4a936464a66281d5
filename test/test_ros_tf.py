"""TfPublisher through tf2_ros (where installed: a ROS install, or the upstream extras on the wheels): a
tf2_ros listener resolves what it sends, and its /tf publisher is handed to the node for cleanup."""

from __future__ import annotations

import importlib.util
import time

import pytest


def _tf2_ros_or_skip() -> None:
    if importlib.util.find_spec("tf2_ros") is None:
        pytest.skip("tf2_ros not installed (tools/setup_env.sh adds it from ../shared/ros)")


@pytest.mark.ros
def test_tf2_ros_backend_reaches_a_listener(ros_context) -> None:  # type: ignore[no-untyped-def]
    _tf2_ros_or_skip()
    import rclpy
    from geometry_msgs.msg import TransformStamped
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import LifecycleNode
    from rclpy.time import Time
    from tf2_ros import Buffer, TransformListener

    from hand_mesh_ros.ros.tf_broadcast import TfPublisher

    sender = LifecycleNode("tf_test_sender", context=ros_context)
    receiver = rclpy.create_node("tf_test_receiver", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(sender)
    executor.add_node(receiver)
    buffer = Buffer()
    listener = TransformListener(buffer, receiver, spin_thread=False)
    try:
        tf = TfPublisher(sender)
        assert tf.backend == "tf2_ros" and tf.publisher is not None
        assert sender.count_publishers("/tf") == 1
        t = TransformStamped()
        t.header.frame_id = "camera_optical_frame"
        t.header.stamp = sender.get_clock().now().to_msg()
        t.child_frame_id = "hand_right_wrist"
        t.transform.translation.z = 0.5
        t.transform.rotation.w = 1.0
        deadline = time.monotonic() + 10.0
        found = False
        while not found and time.monotonic() < deadline:
            tf.send([t])
            executor.spin_once(timeout_sec=0.05)
            found = buffer.can_transform("camera_optical_frame", "hand_right_wrist", Time())
        assert found, "tf2_ros listener never saw the transform"
        looked_up = buffer.lookup_transform("camera_optical_frame", "hand_right_wrist", Time())
        assert looked_up.transform.translation.z == pytest.approx(0.5)
        # The node's cleanup destroys it like its other publishers: none left behind.
        sender.destroy_lifecycle_publisher(tf.publisher)
        assert sender.count_publishers("/tf") == 0
    finally:
        listener.unregister()
        executor.shutdown()
        receiver.destroy_node()
        sender.destroy_node()
