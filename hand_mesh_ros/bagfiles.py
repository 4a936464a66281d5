"""Read rosbag2 files (MCAP or sqlite3) without ROS, with the pure-Python ``rosbags`` library.

Messages come back as ``rosbags`` objects with the same field names as the ROS messages. Our own types
are registered from the package's .msg files, so bags written by the nodes can be evaluated on any
machine (``hand_mesh_ros.evaluation.bag_report``).

A bag that cannot be read completely -- a missing path, a folder without or with broken metadata.yaml, a
truncated or garbled storage file, messages that do not decode -- raises :class:`BagReadError` naming the
bag and the problem, chained from the library's exception. A bag never silently reads as a shorter one:
when the storage runs out before the message counts in its metadata, that is an error too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
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


class BagReadError(ValueError):
    """A bag cannot be read (completely): the message names the bag and what is wrong with it."""


_STORAGE_SUFFIXES = (".mcap", ".db3")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _check_metadata(path: Path) -> None:
    """Refuse a metadata.yaml that is not YAML or not rosbag2 metadata, before rosbags reads it."""
    meta = path / "metadata.yaml"
    try:
        doc = yaml.safe_load(meta.read_bytes())
    except OSError as exc:
        raise BagReadError(f"bag {path}: cannot read metadata.yaml: {_describe(exc)}") from exc
    except yaml.YAMLError as exc:
        raise BagReadError(f"bag {path}: metadata.yaml is not valid YAML: {_describe(exc)}") from exc
    info = doc.get("rosbag2_bagfile_information") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        raise BagReadError(
            f"bag {path}: metadata.yaml is not rosbag2 metadata (no 'rosbag2_bagfile_information' section)"
        )
    files = info.get("relative_file_paths")
    if isinstance(files, list):
        missing = [str(f) for f in files if not (path / Path(str(f)).name).is_file()]
        if missing:
            raise BagReadError(f"bag {path}: storage files listed in metadata.yaml are missing: {', '.join(missing)}")


def _precheck(path: Path) -> None:
    """Clear errors for the cases where rosbags would fail with a bare or misleading message."""
    if not path.exists():
        raise BagReadError(f"bag {path}: no such file or folder")
    if path.is_dir():
        if not (path / "metadata.yaml").is_file():
            storage = sorted(p.name for p in path.iterdir() if p.suffix in _STORAGE_SUFFIXES)
            hint = (f"; it holds {', '.join(storage)}: pass that file itself, or rebuild the metadata with "
                    "`ros2 bag reindex`" if storage else "")
            raise BagReadError(f"bag {path}: not a rosbag2 folder (no metadata.yaml){hint}")
        _check_metadata(path)
    elif path.suffix not in _STORAGE_SUFFIXES:
        raise BagReadError(f"bag {path}: not a rosbag2 bag (expected a bag folder, a .mcap or a .db3 file)")
    elif path.stat().st_size == 0:
        raise BagReadError(f"bag {path}: the file is empty")


def _open_failure(path: Path, exc: BaseException) -> BagReadError:
    reason = _describe(exc)
    # rosbags names metadata problems as such; look only at its words, not at the paths it quotes
    words = reason.replace(str(path), "").lower()
    if path.is_dir() and ("metadata" in words or "yaml" in words):
        return BagReadError(f"bag {path}: bad metadata.yaml: {reason}")
    return BagReadError(f"bag {path}: truncated or corrupt (cannot open its storage): {reason}")


@contextmanager
def open_bag(path: Path | str) -> Iterator[Any]:
    """An open ``rosbags`` Reader for ``path``; any failure to open it raises :class:`BagReadError`."""
    bag = Path(path)
    _precheck(bag)
    try:
        reader = Reader(bag)
        reader.open()
    except Exception as exc:  # rosbags' ReaderError, sqlite's and OS errors alike: the bag is unusable
        raise _open_failure(bag, exc) from exc
    try:
        yield reader
    finally:
        reader.close()


def iter_raw(reader: Any, path: Path | str, connections: Sequence[Any]) -> Iterator[tuple[Any, int, Any]]:
    """``reader.messages(connections)``, with storage errors and missing messages as :class:`BagReadError`.

    When the storage ends before the message counts recorded for ``connections`` (metadata.yaml for a bag
    folder), the bag was cut short or its storage replaced: that raises instead of ending quietly.
    """
    if not connections:
        # rosbags reads an empty connection list as "every topic": nothing asked for, nothing read
        return
    try:
        expected = sum(int(getattr(c, "msgcount", 0) or 0) for c in connections)
    except (TypeError, ValueError) as exc:
        raise BagReadError(f"bag {path}: bad metadata: a topic's message_count is not a number ({exc})") from exc
    count = 0
    source = reader.messages(connections=connections)
    while True:
        try:
            item = next(source)
        except StopIteration:
            break
        except Exception as exc:
            raise BagReadError(
                f"bag {path}: truncated or corrupt after {count} messages: {_describe(exc)}"
            ) from exc
        count += 1
        yield item
    if count < expected:
        topics = ", ".join(sorted({c.topic for c in connections}))
        raise BagReadError(
            f"bag {path}: truncated or corrupt: its storage holds {count} messages of {topics}, "
            f"but its metadata lists {expected}"
        )


def describe_topics(reader: Any) -> str:
    """The bag's topics with their types, "/a (pkg/msg/A), /b (pkg/msg/B)", or "no topics at all"."""
    types = {c.topic: c.msgtype for c in reader.connections}
    return ", ".join(f"{t} ({types[t]})" for t in sorted(types)) or "no topics at all"


def select_connections(reader: Any, path: Path | str, topics: Sequence[str] | None) -> list[Any]:
    """The connections of ``topics`` (all when None); a topic the bag lacks raises :class:`BagReadError`.

    The error lists the topics the bag has, so a misspelt or absent topic is found at once (and never read
    as "all topics", which is what rosbags makes of an empty connection list).
    """
    connections = list(reader.connections)
    if topics is None:
        return connections
    if isinstance(topics, str):  # a bare string would be read as a list of one-letter topics
        topics = [topics]
    present = {c.topic for c in connections}
    missing = [t for t in dict.fromkeys(topics) if t not in present]
    if missing:
        names = ", ".join(missing)
        raise BagReadError(f"bag {path}: no topic {names} in this bag; it has: {describe_topics(reader)}")
    wanted = set(topics)
    return [c for c in connections if c.topic in wanted]


def topic_types(path: Path | str) -> dict[str, str]:
    """Topic -> message type ('pkg/msg/Name') of a bag; :class:`BagReadError` when it cannot be opened."""
    with open_bag(path) as reader:
        return {c.topic: c.msgtype for c in reader.connections}


def decode(path: Path | str, index: int, conn: Any, raw: Any, deserialize: Callable[[Any, str], Any]) -> Any:
    """``deserialize(raw, msgtype)``; a message that does not decode raises :class:`BagReadError`."""
    try:
        return deserialize(raw, conn.msgtype)
    except Exception as exc:
        raise BagReadError(
            f"bag {path}: message {index} on {conn.topic} ({conn.msgtype}) cannot be decoded "
            f"(corrupt data or unknown type): {_describe(exc)}"
        ) from exc


@dataclass(frozen=True)
class StoredMessage:
    topic: str
    stamp_ns: int  # the bag's record time
    msg: Any


def read_messages(path: Path | str, topics: Sequence[str] | None = None) -> Iterator[StoredMessage]:
    """Messages of ``topics`` (all when None) in time order, as rosbags objects.

    Raises :class:`BagReadError` for a bag that is missing, malformed, truncated or corrupt, and for a
    requested topic the bag does not have (the message lists the topics it has).
    """
    store = make_typestore()
    with open_bag(path) as reader:
        conns = select_connections(reader, path, topics)
        for i, (conn, stamp, raw) in enumerate(iter_raw(reader, path, conns)):
            yield StoredMessage(conn.topic, stamp, decode(path, i, conn, raw, store.deserialize_cdr))
