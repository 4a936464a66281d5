"""Write and read rosbag2 files (MCAP by default, sqlite3 too) with the pure-Python ``rosbags`` library.

Messages are serialized with rclpy (CDR), so any type the ROS install knows can be recorded; the bag's
type definitions come from ``rosbags``' Kilted type store plus our own .msg files, so other tools
(``ros2 bag``, Foxglove, rosbags) can read the bag without this package.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer

from ..bagfiles import decode, iter_raw, make_typestore, open_bag, select_connections, topic_types


def type_name(msg: Any) -> str:
    """'pkg/msg/Name' of an rclpy message instance."""
    return f"{type(msg).__module__.split('.')[0]}/msg/{type(msg).__name__}"


def message_class(name: str) -> Any:
    """The rclpy class of 'pkg/msg/Name'."""
    pkg, _, cls = name.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), cls)


class BagRecorder:
    """Records rclpy messages into a new bag directory: ``write(topic, msg, stamp_ns)``."""

    def __init__(self, path: Path | str, storage: str = "mcap") -> None:
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"bag {self.path} exists; choose another path or delete it")
        plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
        self._store = make_typestore()
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.count = 0

    def write(self, topic: str, msg: Any, stamp_ns: int) -> None:
        self.write_serialized(topic, type_name(msg), serialize_message(msg), stamp_ns)

    def write_serialized(self, topic: str, msgtype: str, data: bytes, stamp_ns: int) -> None:
        """Record a message already in CDR (e.g. from a raw subscription), typed 'pkg/msg/Name'."""
        conn = self._connections.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=self._store)
            self._connections[topic] = conn
        self._writer.write(conn, int(stamp_ns), data)
        self.count += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> BagRecorder:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


@dataclass(frozen=True)
class BagMessage:
    topic: str
    stamp_ns: int  # the bag's receive/record time
    msg: Any


def read_bag(path: Path | str, topics: Sequence[str] | None = None) -> Iterator[BagMessage]:
    """Messages of ``topics`` (all when None) in time order, deserialized into rclpy classes.

    Raises :class:`hand_mesh_ros.bagfiles.BagReadError` for a missing, malformed, truncated or corrupt bag,
    and for a requested topic the bag does not have.
    """
    with open_bag(path) as reader:
        conns = select_connections(reader, path, topics)

        classes: dict[str, Any] = {}

        def deserialize(raw: Any, msgtype: str) -> Any:
            if msgtype not in classes:
                classes[msgtype] = message_class(msgtype)
            return deserialize_message(bytes(raw), classes[msgtype])

        for i, (conn, stamp, raw) in enumerate(iter_raw(reader, path, conns)):
            yield BagMessage(conn.topic, stamp, decode(path, i, conn, raw, deserialize))


def bag_topics(path: Path | str) -> dict[str, str]:
    """Topic -> type name of a bag (:class:`hand_mesh_ros.bagfiles.BagReadError` when it is unreadable)."""
    return topic_types(path)
