"""What our lifecycle nodes share: subscriptions made on activate, lifecycle publishers and health made on
configure, and their tear-down on deactivate / cleanup / shutdown.

Outputs are lifecycle publishers: they publish only while the node is active (rclpy enables them on activate
and disables them on deactivate), so a deactivated node goes quiet even for a frame already being processed.
Diagnostics keep publishing in every state."""

from __future__ import annotations

from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile

from .diagnostics import NodeHealth


class ManagedNode(LifecycleNode):
    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self._health: NodeHealth | None = None

    def add_output(self, key: str, msg_type: Any, topic: str, qos: QoSProfile) -> Any:
        """Create the lifecycle publisher ``key`` of this node's outputs."""
        self._pubs[key] = self.create_lifecycle_publisher(msg_type, topic, qos)
        return self._pubs[key]

    def wanted(self, key: str) -> bool:
        """Whether output ``key`` exists and someone subscribes to it (else it need not be built)."""
        pub = self._pubs.get(key)
        return pub is not None and pub.get_subscription_count() > 0

    def release(self) -> None:
        """Drop what ``on_configure`` loaded (models); subclasses extend it."""

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        for sub in self._subs:
            if hasattr(sub, "handle"):  # message_filters subscribers are not rclpy subscriptions
                self.destroy_subscription(sub)
        self._subs = []
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._health is not None:
            self._health.destroy()
        for pub in self._pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._pubs, self._health = {}, None
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_cleanup(state) if self._pubs else TransitionCallbackReturn.SUCCESS
