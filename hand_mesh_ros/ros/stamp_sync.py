"""Match messages of several topics by header stamp, with bounded memory and a reason for every drop.

Streams users actually have break the assumptions of an exact-stamp matcher keyed by stamp: a bag replayed
with ``ros2 bag play -l`` repeats the same stamps on every pass, a driver that never sets ``header.stamp``
sends every image at stamp 0, and a restarted player steps time back. ``message_filters.TimeSynchronizer``
keys its queues by stamp (a second message with the same stamp replaces the first without a word) and
evicts the smallest stamp first (after a loop, the new pass), and it reports no drops. So the nodes use
:class:`StampSynchronizer` whether or not message_filters is installed, and behave the same either way:

- messages with equal stamps are matched in arrival order (the k-th image at stamp t with the k-th
  detections at stamp t);
- a topic whose stamp steps back by any amount has restarted: what it left pending from before is dropped
  (counted as ``restart``) and matching starts over, reported once per restart through ``on_event``;
- at most ``queue_size`` sets wait; the oldest by arrival is given up first (counted as ``queue_full``); a
  message older than the last match can never be matched in order (counted as ``stale``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Stamp = tuple[int, int]

# Why a message was given up unmatched (keys of StampSynchronizer.dropped).
DROP_REASONS = {
    "queue_full": "waited longer than sync_queue_size newer messages for its match on the other topic",
    "stale": "older than the last matched stamp",
    "restart": "pending when its topic's stamps stepped back",
}


def stamp_of(msg: Any) -> Stamp:
    """(sec, nanosec) of a message's header stamp."""
    return (int(msg.header.stamp.sec), int(msg.header.stamp.nanosec))


def stamp_seconds(msg: Any) -> float:
    """A message's header stamp in seconds."""
    return float(msg.header.stamp.sec) + 1e-9 * float(msg.header.stamp.nanosec)


@dataclass
class _Set:
    """Messages of one stamp waiting for the other topics (one slot per topic), in arrival order."""

    stamp: Stamp
    slots: list[Any] = field(default_factory=list)


class StampSynchronizer:
    """Calls ``callback(*msgs)`` once every topic has delivered a message with the same stamp.

    Feed it with ``add(index, msg)`` (``index``: position of the topic in ``topics``). Every message given up
    unmatched is passed to ``on_drop(slots, reason)`` (``slots``: one entry per topic, None where that topic
    had not delivered; ``reason``: a key of :data:`DROP_REASONS`) and counted in ``dropped``; ``restarts``
    counts the times a topic's stamps stepped back. Raises ValueError for fewer than two topics or
    ``queue_size < 1``.
    """

    def __init__(self, topics: list[str], callback: Callable[..., None], queue_size: int = 5,
                 on_drop: Callable[[list[Any], str], None] | None = None) -> None:
        if len(topics) < 2:
            raise ValueError("a synchronizer needs at least two topics")
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self.topics = list(topics)
        self._callback = callback
        self._queue_size = queue_size
        self._on_drop = on_drop or (lambda slots, reason: None)
        self._pending: list[_Set] = []  # in arrival order
        self._last_matched: Stamp | None = None
        self._last_seen: list[Stamp | None] = [None] * len(topics)
        self.dropped: Counter[str] = Counter()
        self.restarts = 0

    def add(self, index: int, msg: Any) -> None:
        stamp = stamp_of(msg)
        last = self._last_seen[index]
        self._last_seen[index] = stamp
        if last is not None and stamp < last:
            self._restart(index, stamp)
        if self._last_matched is not None and stamp < self._last_matched:
            slots = [None] * len(self.topics)
            slots[index] = msg
            self._give_up([_Set(stamp, slots)], "stale")
            return
        target = next((s for s in self._pending if s.stamp == stamp and s.slots[index] is None), None)
        if target is None:
            target = _Set(stamp, [None] * len(self.topics))
            self._pending.append(target)
            if len(self._pending) > self._queue_size:
                self._give_up(self._pending[: len(self._pending) - self._queue_size], "queue_full")
        target.slots[index] = msg
        if all(m is not None for m in target.slots):
            self._match(target)

    def _match(self, done: _Set) -> None:
        position = self._pending.index(done)
        # Sets that arrived before this one at an older or equal stamp can no longer be completed in order.
        self._give_up([s for s in self._pending[:position] if s.stamp <= done.stamp], "stale")
        self._pending.remove(done)
        self._last_matched = done.stamp
        self._callback(*done.slots)

    def _restart(self, index: int, stamp: Stamp) -> None:
        """Topic ``index`` stepped back to ``stamp``: drop what it left pending from before, match anew."""
        self._give_up([s for s in self._pending if s.slots[index] is not None and s.stamp > stamp], "restart")
        self._last_matched = None
        self.restarts += 1

    def _give_up(self, sets: list[_Set], reason: str) -> None:
        for given_up in sets:
            if given_up in self._pending:
                self._pending.remove(given_up)
            self.dropped[reason] += 1
            self._on_drop(given_up.slots, reason)


class StreamClock:
    """Turns one topic's header stamps into the increasing times the tracking core needs, and says why not.

    ``seconds(msg)`` returns the stamp in seconds, except when it equals the previous one (a driver that never
    sets ``header.stamp``, or a repeated frame): then the previous time plus the arrival interval, so filters and
    hold timers still advance. ``stepped_back`` / ``repeated`` tell what the last call saw; ``on_event(kind,
    detail)`` is called for each step back (``stamps_stepped_back``) and once per run of equal stamps
    (``repeated_stamps``). A step back is passed through unchanged (the core restarts its tracks on it).
    """

    MIN_STEP_S = 1e-3

    def __init__(self, topic: str, on_event: Callable[[str, str], None] | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.topic = topic
        self._on_event = on_event or (lambda kind, detail: None)
        self._now = now
        self._last_stamp: Stamp | None = None
        self._last_time = 0.0
        self._last_arrival = 0.0
        self.stepped_back = False
        self.repeated = False

    def seconds(self, msg: Any) -> float:
        stamp, arrival = stamp_of(msg), self._now()
        last = self._last_stamp
        was_repeated = self.repeated
        self.stepped_back = last is not None and stamp < last
        self.repeated = last is not None and stamp == last
        if self.repeated:
            t = self._last_time + max(arrival - self._last_arrival, self.MIN_STEP_S)
            if not was_repeated:
                self._on_event("repeated_stamps", f"consecutive messages on {self.topic} carry the same stamp "
                               f"{_text(stamp)} (a driver that does not set header.stamp?): they are processed in "
                               "arrival order, timed by arrival")
        else:
            t = stamp[0] + 1e-9 * stamp[1]
            if self.stepped_back and last is not None:
                self._on_event("stamps_stepped_back", f"stamps on {self.topic} stepped back from {_text(last)} to "
                               f"{_text(stamp)} (a looping bag or restarted player): tracking starts over")
        self._last_stamp, self._last_time, self._last_arrival = stamp, t, arrival
        return t


def _text(stamp: Stamp) -> str:
    return f"{stamp[0]}.{stamp[1]:09d} s"
