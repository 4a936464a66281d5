"""Collect what the nodes publish (hands, markers, TF) keyed by stamp; used by the demo, tests and benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from hand_mesh_ros.msg import HandArray, HandDetectionArray, MeshTopology

from ..ros.qos import LATCHED, RESULTS, TF
from ..ros.stamp_sync import Stamp, stamp_of


@dataclass
class Received:
    hands: dict[Stamp, Any] = field(default_factory=dict)
    hands_time: dict[Stamp, float] = field(default_factory=dict)  # time.monotonic() at arrival
    hands_wall_ns: dict[Stamp, int] = field(default_factory=dict)  # time.time_ns() at arrival
    markers: list[Any] = field(default_factory=list)
    transforms: list[Any] = field(default_factory=list)
    faces: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (model, handedness) -> (F, 3)


OUTPUT_TOPICS = ("hands", "hand_markers", "/tf", "hand_detections")


class ResultListener:
    """Subscribes ``hands`` and ``hand_mesh_topology`` and, of ``topics``, ``hand_markers``,
    ``hand_detections`` and ``/tf`` on ``node``.

    ``on_message(topic, msg)`` (optional) sees every message as it arrives (e.g. to record a bag).
    """

    def __init__(self, node: Any, keep_markers: bool = True,
                 on_message: Callable[[str, Any], None] | None = None,
                 topics: tuple[str, ...] = OUTPUT_TOPICS) -> None:
        self.node = node
        self.received = Received()
        self._keep_markers = keep_markers
        self._on_message = on_message
        node.create_subscription(HandArray, "hands", self._on_hands, RESULTS)
        if "hand_markers" in topics:  # deserializing mesh markers costs the listener ~10 ms each
            node.create_subscription(MarkerArray, "hand_markers", self._on_markers, RESULTS)
        if "/tf" in topics:
            node.create_subscription(TFMessage, "/tf", self._on_tf, TF)
        if "hand_detections" in topics:
            node.create_subscription(HandDetectionArray, "hand_detections", self._on_detections, RESULTS)
        node.create_subscription(MeshTopology, "hand_mesh_topology", self._on_topology, LATCHED)

    def _on_topology(self, msg: Any) -> None:
        faces = np.asarray(msg.triangles, dtype=np.int32).reshape(-1, 3)
        self.received.faces[(int(msg.model), int(msg.handedness))] = faces

    def _on_hands(self, msg: Any) -> None:
        stamp = stamp_of(msg)
        self.received.hands[stamp] = msg
        self.received.hands_time[stamp] = time.monotonic()
        self.received.hands_wall_ns[stamp] = time.time_ns()
        if self._on_message:
            self._on_message("hands", msg)

    def _on_markers(self, msg: Any) -> None:
        if self._keep_markers:
            self.received.markers.append(msg)
        if self._on_message:
            self._on_message("hand_markers", msg)

    def _on_tf(self, msg: Any) -> None:
        self.received.transforms.extend(msg.transforms)
        if self._on_message:
            self._on_message("/tf", msg)

    def _on_detections(self, msg: Any) -> None:
        if self._on_message:
            self._on_message("hand_detections", msg)
