"""What our lifecycle nodes share: subscriptions made on activate, publishers and health made on configure,
and their tear-down on deactivate / cleanup / shutdown."""

from __future__ import annotations

from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from .diagnostics import NodeHealth


class ManagedNode(LifecycleNode):
    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._subs: list[Any] = []
        self._pubs: dict[str, Any] = {}
        self._health: NodeHealth | None = None

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
            self.destroy_publisher(pub)
        self._pubs, self._health = {}, None
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_cleanup(state) if self._pubs else TransitionCallbackReturn.SUCCESS
