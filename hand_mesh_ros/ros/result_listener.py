"""Collect what the nodes publish (hands, markers, TF) keyed by stamp; used by the demo, tests and benchmark."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import rclpy
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from hand_mesh_ros.msg import HandArray

from .qos import RESULTS, TF
from .stamp_sync import Stamp, stamp_of


@dataclass
class Received:
    hands: dict[Stamp, Any] = field(default_factory=dict)
    hands_time: dict[Stamp, float] = field(default_factory=dict)  # time.monotonic() at arrival
    markers: list[Any] = field(default_factory=list)
    transforms: list[Any] = field(default_factory=list)


class ResultListener:
    """Subscribes ``hands``, ``hand_markers`` and ``/tf`` on ``node``."""

    def __init__(self, node: Any, keep_markers: bool = True) -> None:
        self.node = node
        self.received = Received()
        self._keep_markers = keep_markers
        node.create_subscription(HandArray, "hands", self._on_hands, RESULTS)
        node.create_subscription(MarkerArray, "hand_markers", self._on_markers, RESULTS)
        node.create_subscription(TFMessage, "/tf", self._on_tf, TF)

    def _on_hands(self, msg: Any) -> None:
        stamp = stamp_of(msg)
        self.received.hands[stamp] = msg
        self.received.hands_time[stamp] = time.monotonic()

    def _on_markers(self, msg: Any) -> None:
        if self._keep_markers:
            self.received.markers.append(msg)

    def _on_tf(self, msg: Any) -> None:
        self.received.transforms.extend(msg.transforms)

    def wait_for(self, stamp: Stamp, timeout_s: float) -> Any | None:
        """Spin until the HandArray with ``stamp`` arrived (returned) or ``timeout_s`` passed (None)."""
        deadline = time.monotonic() + timeout_s
        while stamp not in self.received.hands and time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.02)
        return self.received.hands.get(stamp)

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.02)
