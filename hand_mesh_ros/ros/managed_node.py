"""What our lifecycle nodes share: subscriptions made on activate, lifecycle publishers and health made on
configure, and their tear-down on deactivate / cleanup / shutdown.

Outputs are lifecycle publishers: they publish only while the node is active (rclpy enables them on activate
and disables them on deactivate), so a deactivated node goes quiet even for a frame already being processed.
Diagnostics keep publishing in every state. Images arrive raw or compressed (``image_transport``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage, Image

from .diagnostics import NodeHealth
from .image_conversion import CV_BRIDGE, CV_BRIDGE_PROBLEM, compressed_to_rgb, image_to_rgb
from .qos import SENSOR


class ManagedNode(LifecycleNode):
    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self._health: NodeHealth | None = None
        self.configured = False  # between a successful configure and cleanup (settings that apply at configure)

    def add_output(self, key: str, msg_type: Any, topic: str, qos: QoSProfile) -> Any:
        """Create the lifecycle publisher ``key`` of this node's outputs."""
        self._pubs[key] = self.create_lifecycle_publisher(msg_type, topic, qos)
        return self._pubs[key]

    def wanted(self, key: str) -> bool:
        """Whether output ``key`` exists and someone subscribes to it (else it need not be built)."""
        pub = self._pubs.get(key)
        return pub is not None and pub.get_subscription_count() > 0

    def subscribe(self, msg_type: Any, topic: str, callback: Callable[[Any], None], qos: QoSProfile) -> Any:
        """Subscribe an input (dropped on deactivate) and name it to the diagnostics (type mismatches)."""
        sub = self.create_subscription(msg_type, topic, callback, qos)
        self._subs.append(sub)
        if self._health is not None:
            module = msg_type.__module__.split(".")[0]
            self._health.watch(sub.topic_name, f"{module}/msg/{msg_type.__name__}")
        return sub

    def subscribe_images(self, transport: str, callback: Callable[[Any], None]) -> Callable[[Any], np.ndarray]:
        """Subscribe ``image`` (sensor_msgs/Image) or, with ``transport`` compressed, ``<image>/compressed``
        (sensor_msgs/CompressedImage, image_transport's convention; remapping ``image`` moves both). Returns the
        conversion of the received messages to RGB (raising ImageConversionError)."""
        if self._health is not None:
            self._health.extra["image conversion"] = "OpenCV (compressed)" if transport == "compressed" else (
                "cv_bridge" if CV_BRIDGE is not None else f"numpy ({CV_BRIDGE_PROBLEM})")
        if transport == "compressed":
            self.subscribe(CompressedImage, self.resolve_topic_name("image") + "/compressed", callback, SENSOR)
            return compressed_to_rgb
        self.subscribe(Image, "image", callback, SENSOR)
        return image_to_rgb

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._health is not None:
            self._health.set_active(True)
        return super().on_activate(state)

    def announce_active(self) -> None:
        """Log that the node is active and what it listens to (the moment from which output is expected)."""
        self.get_logger().info(f"active: subscribed to {', '.join(sub.topic_name for sub in self._subs)}")

    def release(self) -> None:
        """Drop what ``on_configure`` loaded (models); subclasses extend it."""

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        for sub in self._subs:
            self.destroy_subscription(sub)
        self._subs = []
        if self._health is not None:
            self._health.set_active(False)
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._health is not None:
            self._health.destroy()
        for pub in self._pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._pubs, self._health = {}, None
        self.release()
        self.configured = False
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_cleanup(state) if self._pubs else TransitionCallbackReturn.SUCCESS
