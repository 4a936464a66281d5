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

A depth camera's images are not matched exactly: :class:`DepthBuffer` keeps the last few and hands each colour
image the one of the nearest stamp within a tolerance (drivers stamp aligned depth at the colour frame's time,
or a few milliseconds off), counting every depth image that can never be used by its reason.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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


T = TypeVar("T")

# Why a depth image was never used (keys of DepthBuffer.unmatched).
DEPTH_UNMATCHED_REASONS = {
    "no_colour_image": "no colour image within depth_tolerance_s of its stamp was processed (colour images lost "
                       "while the node was busy, a colour stream slower than the depth stream, or the two "
                       "streams' stamps differ by more than depth_tolerance_s)",
    "late": "it arrived after its colour image had waited depth_wait_s and was processed without depth "
            "(raise depth_wait_s)",
    "buffer_full": "pushed out by newer depth images before a colour image came for it (no colour images, or "
                   "they stopped)",
    "restart": "waiting when the depth stamps stepped back (a looping bag or restarted player)",
}


@dataclass(eq=False)  # compared by identity (an item may be a large message)
class _Depth(Generic[T]):
    stamp_s: float
    item: T
    used: bool = False


class DepthBuffer(Generic[T]):
    """The last ``capacity`` depth images (any item, e.g. the message), for the colour image of the nearest stamp.

    ``add(stamp_s, item)`` per depth image, ``take(stamp_s, tolerance_s)`` when the colour image stamped
    ``stamp_s`` (seconds) is processed: the item of the nearest stamp within ``tolerance_s`` (ties: the newest
    arrival), or None. An item may serve several colour images. Colour stamps are taken in increasing order
    (a step back starts over); once a colour image is taken, depth images older than it by more than the
    tolerance can never be used and are let go. Every depth image let go unused is counted in ``unmatched`` by
    a key of :data:`DEPTH_UNMATCHED_REASONS`. ``may_still_come(stamp_s, tolerance_s)`` says whether a
    colour image without its depth yet may still get it. No ROS; ``now`` (seconds, monotonic) is for the tests.
    """

    SILENT_S = 1.0  # no depth image for this long: the depth stream counts as stopped (nothing to wait for)

    def __init__(self, capacity: int = 10, now: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._now = now
        self._items: deque[_Depth[T]] = deque()  # arrival order
        self._last_depth: float | None = None  # stamp of the newest depth image, seconds
        self._last_arrival = -float("inf")
        self._taken: float | None = None  # the last colour stamp taken
        self._tolerance = 0.0  # of the last take
        self._missed: deque[float] = deque(maxlen=32)  # colour stamps taken without depth
        self.unmatched: Counter[str] = Counter()
        self.restarts = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, stamp_s: float, item: T) -> None:
        """A depth image stamped ``stamp_s`` arrived."""
        stamp_s = float(stamp_s)
        self._last_arrival = self._now()
        if self._last_depth is not None and stamp_s < self._last_depth:  # a new pass: start over
            self._let_go(list(self._items), "restart")
            self._taken, self._missed = None, deque(maxlen=32)
            self.restarts += 1
        self._last_depth = stamp_s
        entry = _Depth(stamp_s, item)
        self._items.append(entry)
        if self._taken is not None and stamp_s < self._taken - self._tolerance:  # its colour image is gone
            self._let_go([entry], "no_colour_image")
            return
        if len(self._items) > self.capacity:
            self._let_go([self._items[0]], "buffer_full")

    def _nearest(self, stamp_s: float, tolerance_s: float) -> _Depth[T] | None:
        best: _Depth[T] | None = None
        for entry in self._items:  # arrival order: on equal distance the newer wins
            d = abs(entry.stamp_s - stamp_s)
            if d <= tolerance_s and (best is None or d <= abs(best.stamp_s - stamp_s)):
                best = entry
        return best

    def peek(self, stamp_s: float, tolerance_s: float) -> T | None:
        """The item of the nearest stamp within ``tolerance_s`` of ``stamp_s``, or None (nothing changes)."""
        best = self._nearest(float(stamp_s), tolerance_s)
        return None if best is None else best.item

    def take(self, stamp_s: float, tolerance_s: float) -> T | None:
        """The colour image stamped ``stamp_s`` is processed now: its depth item (as :meth:`peek`) or None.
        Depth images that no later colour image can use are let go."""
        stamp_s = float(stamp_s)
        if self._taken is not None and stamp_s < self._taken:  # the colour stream stepped back
            self._missed.clear()
        best = self._nearest(stamp_s, tolerance_s)
        if best is None:
            self._missed.append(stamp_s)
        else:
            best.used = True
        self._taken, self._tolerance = stamp_s, float(tolerance_s)
        self._let_go([e for e in self._items if e.stamp_s < stamp_s - tolerance_s], "no_colour_image")
        return None if best is None else best.item

    def may_still_come(self, stamp_s: float, tolerance_s: float) -> bool:
        """Whether a depth image within ``tolerance_s`` of the colour stamp ``stamp_s`` may still come: depth
        images arrive (not :meth:`silent`) and none newer than that window arrived yet."""
        if self.silent() or self._last_depth is None:
            return False
        return self._last_depth < stamp_s + tolerance_s

    def silent(self) -> bool:
        """No depth image arrived for :attr:`SILENT_S` (or none at all)."""
        return self._now() - self._last_arrival > self.SILENT_S

    def offset(self, stamp_s: float) -> float | None:
        """Stamp of the nearest depth image held minus ``stamp_s``, seconds (None when none is held)."""
        if not self._items:
            return None
        return min((e.stamp_s - float(stamp_s) for e in self._items), key=abs)

    def clear(self) -> None:
        """Forget everything waiting (not counted: e.g. the node was deactivated) and the stream's history."""
        self._items.clear()
        self._last_depth, self._taken, self._last_arrival = None, None, -float("inf")
        self._missed.clear()

    def _let_go(self, entries: list[_Depth[T]], reason: str) -> None:
        """Remove ``entries``; count the unused ones (``late`` instead of ``no_colour_image`` when a colour image
        within the tolerance was processed without depth)."""
        for entry in entries:
            self._items.remove(entry)
            if entry.used:
                continue
            if reason == "no_colour_image" and any(abs(entry.stamp_s - m) <= self._tolerance for m in self._missed):
                self.unmatched["late"] += 1
            else:
                self.unmatched[reason] += 1


def _text(stamp: Stamp) -> str:
    return f"{stamp[0]}.{stamp[1]:09d} s"
