"""Publish transforms on /tf: tf2_ros where installed, a plain tf2_msgs/TFMessage publisher otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .qos import TF


class TfPublisher:
    """Sends ``geometry_msgs/TransformStamped`` lists on ``/tf`` in one message per call.

    ``publisher`` is the /tf publisher, for the node to destroy on cleanup (so a re-configure does not add a
    second one). Without tf2_ros it is a lifecycle publisher when ``node`` is a lifecycle node; tf2_ros'
    broadcaster makes a plain one (the node only sends while active).
    """

    def __init__(self, node: Any) -> None:
        self.backend: str
        self.publisher: Any = None
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            TransformBroadcaster = None
        if TransformBroadcaster is not None:  # a ROS install, or the upstream extras on the wheels
            self._broadcaster = TransformBroadcaster(node, qos=TF)
            self._pub = None
            self.publisher = getattr(self._broadcaster, "pub_tf", None)
            self.backend = "tf2_ros"
        else:
            from tf2_msgs.msg import TFMessage

            self._broadcaster = None
            self._msg_type = TFMessage
            create = getattr(node, "create_lifecycle_publisher", node.create_publisher)
            self._pub = self.publisher = create(TFMessage, "/tf", TF)
            self.backend = "tf2_msgs"

    def send(self, transforms: Sequence[Any]) -> None:
        if not transforms:
            return
        if self._broadcaster is not None:
            self._broadcaster.sendTransform(list(transforms))
        else:
            assert self._pub is not None
            self._pub.publish(self._msg_type(transforms=list(transforms)))
