"""Read rosbag2 files (MCAP or sqlite3) without ROS, with the pure-Python ``rosbags`` library.

Messages come back as ``rosbags`` objects with the same field names as the ROS messages. Our own types
are registered from the package's .msg files, so bags written by the nodes can be evaluated on any
machine (``hand_mesh_ros.evaluation.bag_report``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

_SOURCE_MSG_DIR = Path(__file__).resolve().parents[1] / "msg"


def msg_dir() -> Path:
    """Our .msg files: the source tree's, else the installed package's share directory."""
    if _SOURCE_MSG_DIR.is_dir():
        return _SOURCE_MSG_DIR
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("hand_mesh_ros")) / "msg"


def make_typestore() -> Any:
    """Kilted's standard types plus hand_mesh_ros' messages."""
    store = get_typestore(Stores.ROS2_KILTED)
    types: dict[str, Any] = {}
    for path in sorted(msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"hand_mesh_ros/msg/{path.stem}"))
    store.register(types)
    return store


@dataclass(frozen=True)
class StoredMessage:
    topic: str
    stamp_ns: int  # the bag's record time
    msg: Any


def read_messages(path: Path | str, topics: Sequence[str] | None = None) -> Iterator[StoredMessage]:
    """Messages of ``topics`` (all when None) in time order, as rosbags objects."""
    store = make_typestore()
    with Reader(Path(path)) as reader:
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        for conn, stamp, raw in reader.messages(connections=conns):
            yield StoredMessage(conn.topic, stamp, store.deserialize_cdr(raw, conn.msgtype))
