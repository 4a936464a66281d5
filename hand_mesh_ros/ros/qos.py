"""The QoS profiles the nodes use, in one place."""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

# Camera images and camera info: best effort, keep the newest only. A slow node sees the latest frame
# instead of a growing backlog.
SENSOR = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=qos_profile_sensor_data.reliability,
    durability=qos_profile_sensor_data.durability,
)

# Per-frame results (detections, hands, markers): reliable, a short queue. Subscribers with sensor-data
# QoS (best effort) are compatible with it.
RESULTS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=ReliabilityPolicy.RELIABLE)

# Facts that never change while a node runs (mesh topology): latched for late joiners.
LATCHED = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=4,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

# What tf2_ros' TransformBroadcaster uses for /tf.
TF = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE)
