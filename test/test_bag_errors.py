"""Bad bags are refused with one clear BagReadError: missing, not a bag, broken metadata, truncated, corrupt."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros

N_PER_TOPIC = 30  # 2 topics x 30 x 50 kB: an MCAP of three ~1 MB chunks
PAYLOAD = 50_000


def _write_bag(path: Path, storage: str, n: int = N_PER_TOPIC) -> Path:
    pytest.importorskip("rclpy")
    from std_msgs.msg import String

    from hand_mesh_ros.tools.bag_io import BagRecorder

    with BagRecorder(path, storage=storage) as rec:
        for i in range(n):
            rec.write("/a", String(data=f"a{i:03d}" + "x" * PAYLOAD), 10**9 + 2 * i)
            rec.write("/b", String(data=f"b{i:03d}"), 10**9 + 2 * i + 1)
    return path


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("good_bags")
    return {storage: _write_bag(root / storage, storage) for storage in ("mcap", "sqlite3")}


def _copy(bag: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of the bag folder and its storage file."""
    shutil.copytree(bag, dest)
    return dest, next(p for p in dest.iterdir() if p.suffix in (".mcap", ".db3"))


def _read_all(path: Path) -> list[object]:
    from hand_mesh_ros.bagfiles import read_messages

    return list(read_messages(path))


def _refused(path: Path, pattern: str) -> BaseException:
    from hand_mesh_ros.bagfiles import BagReadError

    with pytest.raises(BagReadError, match=pattern) as info:
        _read_all(path)
    assert str(path) in str(info.value)  # the message names the bag
    return info.value


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_good_bags_read_completely(bags: dict[str, Path], storage: str) -> None:
    from hand_mesh_ros.tools.bag_io import bag_topics, read_bag

    msgs = _read_all(bags[storage])
    assert len(msgs) == 2 * N_PER_TOPIC
    assert [m.msg.data[:4] for m in msgs[:4]] == ["a000", "b000", "a001", "b001"]  # type: ignore[attr-defined]
    storage_file = next(p for p in bags[storage].iterdir() if p.suffix in (".mcap", ".db3"))
    assert len(_read_all(storage_file)) == 2 * N_PER_TOPIC  # the storage file alone reads too
    assert bag_topics(bags[storage]) == {"/a": "std_msgs/msg/String", "/b": "std_msgs/msg/String"}
    assert [m.msg.data for m in read_bag(bags[storage], ["/b"])][-1] == f"b{N_PER_TOPIC - 1:03d}"


def test_not_a_bag(bags: dict[str, Path], tmp_path: Path) -> None:
    _refused(tmp_path / "nowhere", "no such file or folder")
    (tmp_path / "empty_dir").mkdir()
    _refused(tmp_path / "empty_dir", r"not a rosbag2 folder \(no metadata.yaml\)$")
    folder, _ = _copy(bags["mcap"], tmp_path / "no_metadata")
    (folder / "metadata.yaml").unlink()
    _refused(folder, r"no metadata.yaml\); it holds mcap.mcap: pass that file itself")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    _refused(text, r"not a rosbag2 bag \(expected a bag folder, a .mcap or a .db3 file\)")
    empty = tmp_path / "empty.mcap"
    empty.write_bytes(b"")
    _refused(empty, "the file is empty")


@pytest.mark.parametrize(("text", "pattern"), [
    ("{{{ : not yaml", "metadata.yaml is not valid YAML"),
    ("", "metadata.yaml is not rosbag2 metadata"),
    ("- just\n- a list\n", "metadata.yaml is not rosbag2 metadata"),
    ("rosbag2_bagfile_information: {version: 9}\n", r"bad metadata.yaml: .*relative_file_paths"),
])
def test_garbage_metadata(bags: dict[str, Path], tmp_path: Path, text: str, pattern: str) -> None:
    folder, _ = _copy(bags["mcap"], tmp_path / "bag")
    (folder / "metadata.yaml").write_text(text)
    _refused(folder, pattern)


def test_metadata_naming_a_missing_storage_file(bags: dict[str, Path], tmp_path: Path) -> None:
    folder, storage = _copy(bags["sqlite3"], tmp_path / "bag")
    storage.unlink()
    _refused(folder, r"storage files listed in metadata.yaml are missing: sqlite3.db3$")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, -1])
def test_truncated_storage(bags: dict[str, Path], tmp_path: Path, storage: str, keep: float) -> None:
    folder, file = _copy(bags[storage], tmp_path / "bag")
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 1] if keep == -1 else data[: int(len(data) * keep)])
    err = _refused(folder, "truncated or corrupt")
    assert err.__cause__ is not None  # chained from the library's error
    _refused(file, "truncated or corrupt")  # the storage file on its own as well


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_garbage_storage_file(bags: dict[str, Path], tmp_path: Path, storage: str) -> None:
    folder, file = _copy(bags[storage], tmp_path / "bag")
    file.write_bytes(b"\x17garbage that is no bag at all" * 200)
    _refused(folder, r"truncated or corrupt \(cannot open its storage\)")
    _refused(file, r"truncated or corrupt \(cannot open its storage\)")


def test_storage_shorter_than_its_metadata_is_an_error(bags: dict[str, Path], tmp_path: Path) -> None:
    """A storage that opens cleanly but holds fewer messages than metadata.yaml lists must not pass."""
    from hand_mesh_ros.bagfiles import read_messages

    folder, file = _copy(bags["sqlite3"], tmp_path / "rows_lost")
    with sqlite3.connect(file) as db:
        db.execute("DELETE FROM messages WHERE id > 40")
    db.close()
    _refused(folder, f"storage holds 40 messages of /a, /b, but its metadata lists {2 * N_PER_TOPIC}")
    with pytest.raises(ValueError, match=f"holds 20 messages of /b, but its metadata lists {N_PER_TOPIC}"):
        list(read_messages(folder, ["/b"]))

    short = _write_bag(tmp_path / "short", "mcap", n=5)  # a complete MCAP, but not this bag's
    folder, file = _copy(bags["mcap"], tmp_path / "swapped")
    shutil.copyfile(next(short.glob("*.mcap")), file)
    _refused(folder, f"storage holds 10 messages of /a, /b, but its metadata lists {2 * N_PER_TOPIC}")


def test_corrupt_message_data(bags: dict[str, Path], tmp_path: Path) -> None:
    from hand_mesh_ros.bagfiles import BagReadError
    from hand_mesh_ros.tools.bag_io import read_bag

    folder, file = _copy(bags["sqlite3"], tmp_path / "bag")
    with sqlite3.connect(file) as db:  # message 6 (/b): a CDR string claiming 2 GB
        db.execute("UPDATE messages SET data = ? WHERE id = 6", (b"\x00\x01\x00\x00\xff\xff\xff\x7fab",))
    db.close()
    _refused(folder, r"message 5 on /b \(std_msgs/msg/String\) cannot be decoded")
    with pytest.raises(BagReadError, match=r"message 5 on /b \(std_msgs/msg/String\) cannot be decoded"):
        list(read_bag(folder))


def test_cli_prints_one_line_and_exits_2(bags: dict[str, Path], tmp_path: Path) -> None:
    folder, file = _copy(bags["mcap"], tmp_path / "cut")
    file.write_bytes(file.read_bytes()[:100_000])
    proc = subprocess.run([sys.executable, "-m", "hand_mesh_ros.evaluation.bag_report", str(folder),
                           "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: bag {folder}: truncated or corrupt (cannot open its storage): File end magic is invalid."
    ]
    assert not (tmp_path / "report").exists()


def test_bag_replay_refuses_a_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rclpy")
    from hand_mesh_ros.tools.bag_replay import main

    assert main([str(tmp_path / "missing_bag"), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == f"error: bag {tmp_path / 'missing_bag'}: no such file or folder"
    assert not (tmp_path / "out").exists()
