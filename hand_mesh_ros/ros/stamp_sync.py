"""Match messages of several topics by header stamp, with bounded memory.

``message_filters.TimeSynchronizer`` does this where it is installed; the PyPI ROS wheels lack it, so
:class:`StampSynchronizer` is the equivalent used then (and its behaviour is what the tests pin down).
Either way, at most ``queue_size`` stamps wait per topic: when processing falls behind, the oldest
unmatched messages are dropped (and counted), never queued without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Stamp = tuple[int, int]
JUMP_BACK_NS = 1_000_000_000  # a stamp this much older than the last match: the stream restarted


def stamp_of(msg: Any) -> Stamp:
    """(sec, nanosec) of a message's header stamp."""
    return (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))


def stamp_seconds(msg: Any) -> float:
    """A message's header stamp in seconds."""
    return float(msg.header.stamp.sec) + 1e-9 * float(msg.header.stamp.nanosec)


class StampSynchronizer:
    """Calls ``callback(*msgs)`` once every topic has delivered a message with the same stamp.

    Feed it with ``add(index, msg)`` (index = position of the topic). Messages older than the newest
    matched stamp are dropped; each topic keeps at most ``queue_size`` pending stamps.
    """

    def __init__(self, n_topics: int, callback: Callable[..., None], queue_size: int = 5) -> None:
        if n_topics < 2:
            raise ValueError("a synchronizer needs at least two topics")
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self._n = n_topics
        self._callback = callback
        self._queue_size = queue_size
        self._pending: OrderedDict[Stamp, list[Any]] = OrderedDict()
        self._last_matched: Stamp | None = None
        self.dropped = 0  # stamps given up unmatched (too old, or pushed out of the queue)
        self.restarts = 0  # times the stamps jumped back by more than a second

    def add(self, index: int, msg: Any) -> None:
        stamp = stamp_of(msg)
        if self._last_matched is not None and _ns(self._last_matched) - _ns(stamp) > JUMP_BACK_NS:
            # Time jumped back (a bag or video restarted): start over instead of dropping everything.
            self._pending.clear()
            self._last_matched = None
            self.restarts += 1
        if self._last_matched is not None and stamp <= self._last_matched:
            self.dropped += 1
            return
        slots = self._pending.get(stamp)
        if slots is None:
            slots = [None] * self._n
            self._pending[stamp] = slots
            self._pending = OrderedDict(sorted(self._pending.items()))
            while len(self._pending) > self._queue_size:
                self._pending.popitem(last=False)
                self.dropped += 1
        slots[index] = msg
        if all(m is not None for m in slots):
            # Everything older than this stamp can never be completed in order: drop it.
            for older in [s for s in self._pending if s < stamp]:
                del self._pending[older]
                self.dropped += 1
            del self._pending[stamp]
            self._last_matched = stamp
            self._callback(*slots)


def _ns(stamp: Stamp) -> int:
    return stamp[0] * 1_000_000_000 + stamp[1]


def make_synchronizer(n_topics: int, callback: Callable[..., None], queue_size: int = 5
                      ) -> tuple[Callable[[int, Any], None], Callable[[], int]]:
    """A stamp matcher fed by the caller: returns ``feed(index, msg)`` and a count of dropped stamps.

    Uses ``message_filters.TimeSynchronizer`` (fed through ``SimpleFilter`` inputs) where installed, else
    :class:`StampSynchronizer`. The caller owns the subscriptions, so it can also look at each message
    as it arrives (the reconstruction node does not wait for detections while it tracks hands).
    """
    try:
        import message_filters
    except ImportError:
        message_filters = None
    if message_filters is not None:  # pragma: no cover - only with a real ROS install
        inputs = [message_filters.SimpleFilter() for _ in range(n_topics)]
        sync = message_filters.TimeSynchronizer(inputs, queue_size)
        sync.registerCallback(callback)
        return (lambda i, m: inputs[i].signalMessage(m)), (lambda: 0)
    ours = StampSynchronizer(n_topics, callback, queue_size)
    return ours.add, (lambda: ours.dropped)
