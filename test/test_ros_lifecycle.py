"""The reconstruction node in this process: outputs stop while it is inactive, markers / the debug image are
only built while someone subscribes to them, and restarts and unplaceable hands are logged and counted."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from perception_fixtures import converted_models  # noqa: F401 - fixture
from standin_networks import CollapsedLandmarks, FixedPalms, palm_at

pytestmark = pytest.mark.ros


def _counting(counts: dict[str, int], key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        counts[key] += 1
        return fn(*args, **kwargs)

    return wrapper


def test_outputs_follow_the_lifecycle_and_extras_follow_subscribers(  # type: ignore[no-untyped-def]
        ros_context, ros_messages, converted_models, prepared, monkeypatch, capfd) -> None:  # noqa: F811
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from visualization_msgs.msg import MarkerArray

    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.ros import reconstruction_node as rn
    from hand_mesh_ros.ros.qos import RESULTS
    from hand_mesh_ros.tools.player import FramePlayer

    built = {"markers": 0, "debug": 0}
    monkeypatch.setattr(rn, "hand_markers_cdr", _counting(built, "markers", rn.hand_markers_cdr))
    monkeypatch.setattr(rn, "draw_hands", _counting(built, "debug", rn.draw_hands))
    node = rn.ReconstructionNode(context=ros_context, parameter_overrides=[
        Parameter("external_detections", value=False), Parameter("publish_debug_image", value=True)])
    driver = rclpy.create_node("lifecycle_test_driver", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    executor.add_node(driver)
    hands: list[Any] = []
    driver.create_subscription(ros_messages.HandArray, "hands", hands.append, RESULTS)
    player = FramePlayer(driver, frame_id="camera_optical_frame")
    camera = CameraModel.pinhole(320, 240, 240.0)
    frame = np.full((240, 320, 3), 90, np.uint8)

    def spin(seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            executor.spin_once(timeout_sec=0.02)

    def answered(frames: int, stamp_ns: int | None = None) -> int:
        """Publish ``frames`` images one at a time (stamped now, or ``stamp_ns`` on); how many got a HandArray."""
        before = len(hands)
        for k in range(frames):
            player.publish(frame, camera, None if stamp_ns is None else stamp_ns + k)
            spin(3.0, lambda k=k: len(hands) > before + k)
        spin(0.2)
        return len(hands) - before

    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        spin(1.0)  # discovery
        assert answered(3) == 3
        assert built == {"markers": 0, "debug": 0}  # nobody subscribes: neither is built

        driver.create_subscription(MarkerArray, "hand_markers", lambda m: None, RESULTS)
        spin(1.0, lambda: node.wanted("markers"))
        assert answered(2) == 2
        assert built == {"markers": 2, "debug": 0}
        driver.create_subscription(Image, "hand_debug_image", lambda m: None, RESULTS)
        spin(1.0, lambda: node.wanted("debug"))
        assert answered(1) == 1 and built == {"markers": 3, "debug": 1}

        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert not node._pubs["hands"].is_activated
        assert answered(2) == 0  # inactive: no output
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert answered(1) == 1

        capfd.readouterr()  # the log so far; from here on read as rcutils writes it, with the real logger
        assert answered(1, stamp_ns=10**9) == 1  # stamps stepped back (a replayed bag): tracking restarts
        assert node._health.events["stamps_stepped_back"] == 1
        assert "]: stamps_stepped_back: stamps on image stepped back" in capfd.readouterr().err

        tracker = node._rec.tracker  # a hand whose keypoints all fall on one pixel cannot be placed
        monkeypatch.setattr(tracker, "palm_model", FixedPalms(palm_at(160, 120)))
        monkeypatch.setattr(tracker, "landmark_model", CollapsedLandmarks())
        assert answered(1) == 1 and hands[-1].hands == []  # answered, with no hand
        assert node._health.events["hand_not_placed_degenerate_keypoints"] == 1
        assert "]: hand_not_placed_degenerate_keypoints: 1 hand(s) found but not placed" in capfd.readouterr().err
    finally:
        executor.shutdown()
        node.destroy_node()
        driver.destroy_node()
