"""Topics a bag lacks are errors naming the bag's topics; bag_report on a bag without ground truth; the
replay's choice and decoding of raw or compressed image topics. Small bags written here, no nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _hand(msg: Any, side: int, wrist_z: float, confidence: float) -> Any:
    from geometry_msgs.msg import Point

    hand = msg.Hand(id=side, handedness=side, confidence=confidence)
    hand.joints = [Point(x=0.01 * k, y=0.0, z=wrist_z + 0.001 * k) for k in range(21)]
    hand.joints_px = [Point(x=100.0 + k, y=100.0, z=0.0) for k in range(21)]
    return hand


def _video_run_bag(msg: Any, path: Path, storage: str = "mcap") -> Path:
    """What the demo records for a video: images (JPEG), camera info, /hands, /diagnostics; no ground truth."""
    from diagnostic_msgs.msg import DiagnosticArray
    from std_msgs.msg import Header

    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.ros.camera_info import camera_info_from_model
    from hand_mesh_ros.ros.image_conversion import rgb_to_compressed
    from hand_mesh_ros.tools.bag_io import BagRecorder

    camera = CameraModel.pinhole(64, 48, 48.0)
    rgb = np.zeros((48, 64, 3), np.uint8)
    # frame i: hands with these (side, wrist z, confidence)
    frames = [[(2, 0.50, 0.9)], [(2, 0.55, 0.8), (1, 0.70, 0.6)], [], [(2, 0.40, 0.7)]]
    with BagRecorder(path, storage=storage) as rec:
        for i, hands in enumerate(frames):
            ns = 10**9 + i * 40_000_000
            header = Header(frame_id="cam")
            header.stamp.sec, header.stamp.nanosec = ns // 10**9, ns % 10**9
            rec.write("/camera/image_raw/compressed", rgb_to_compressed(rgb, header), ns)
            rec.write("/camera/camera_info", camera_info_from_model(camera, header), ns)
            rec.write("/hands", msg.HandArray(header=header, hands=[_hand(msg, *h) for h in hands]), ns)
            rec.write("/diagnostics", DiagnosticArray(header=header), ns + 1)
    return path


def test_a_missing_topic_is_an_error_listing_the_topics(ros_messages: Any, tmp_path: Path) -> None:
    from hand_mesh_ros.bagfiles import BagReadError, read_messages
    from hand_mesh_ros.tools.bag_io import read_bag

    bag = _video_run_bag(ros_messages, tmp_path / "run")
    for reader in (read_messages, read_bag):
        with pytest.raises(BagReadError, match=r"no topic /ground_truth/hands in this bag; it has: "
                           r"/camera/camera_info \(sensor_msgs/msg/CameraInfo\), .*/diagnostics "
                           r"\(diagnostic_msgs/msg/DiagnosticArray\), /hands \(hand_mesh_ros/msg/HandArray\)$"):
            list(reader(bag, ["/hands", "/ground_truth/hands"]))  # one present topic does not let it pass
        assert list(reader(bag, [])) == []  # nothing asked for: nothing read (rosbags would read everything)
        assert {m.topic for m in reader(bag, ["/hands"])} == {"/hands"}
    assert len(list(read_messages(bag, "/hands"))) == 4  # a bare string is one topic


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_report_without_truth_reports_the_predictions(ros_messages: Any, tmp_path: Path,
                                                          storage: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from hand_mesh_ros.evaluation.bag_report import main as report_main

    bag = _video_run_bag(ros_messages, tmp_path / "run", storage)
    out = tmp_path / "report"
    out.mkdir()
    (out / "pck_3d.png").write_bytes(b"stale")  # a previous report's plot must not survive
    assert report_main([str(bag), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert text.startswith("no ground truth: this bag has no /ground_truth/hands")
    for row in ("| frames (HandArray messages) | 4 |", "| frames with hands | 3 |", "| hands per frame (mean) | 1.00 |",
                "| frames with n hands (n: frames) | 0: 1, 1: 2, 2: 1 |", "| hands by side | left 1, right 3 |",
                "| wrist depth z min (m) | 0.400 |", "| wrist depth z median (m) | 0.525 |",
                "| wrist depth z max (m) | 0.700 |", "| confidence median | 0.750 |"):
        assert row in text
    assert (out / "wrist_depth.png").stat().st_size > 1000 and not (out / "pck_3d.png").exists()
    assert "report.md, wrist_depth.png" in capsys.readouterr().out


def test_bag_report_refuses_topics_the_bag_lacks(ros_messages: Any, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from hand_mesh_ros.evaluation.bag_report import main as report_main

    bag = _video_run_bag(ros_messages, tmp_path / "run")
    for extra in (["--truth-topic", "/gt"], ["--topic", "/gt"], ["--reference", str(bag), "--topic", "/gt"]):
        assert report_main([str(bag), "--out", str(tmp_path / "r"), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: bag {bag}: no topic /gt in this bag; it has: /camera/camera_info")
    assert not (tmp_path / "r").exists()


def test_replay_picks_raw_or_compressed_images_and_decodes_both(tmp_path: Path) -> None:
    pytest.importorskip("rclpy")
    from std_msgs.msg import Header

    from hand_mesh_ros.bagfiles import BagReadError
    from hand_mesh_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image
    from hand_mesh_ros.tools.bag_replay import CAMERA_INFO, COMPRESSED, IMAGE, image_rgb, pick_topic

    bag = tmp_path / "bag"
    both = {"/c/image_raw": IMAGE, "/c/image_raw/compressed": COMPRESSED, "/c/info": CAMERA_INFO}
    assert pick_topic(bag, both, None, (IMAGE, COMPRESSED)) == "/c/image_raw"  # raw preferred
    only_jpeg = {k: v for k, v in both.items() if v != IMAGE}
    assert pick_topic(bag, only_jpeg, None, (IMAGE, COMPRESSED)) == "/c/image_raw/compressed"
    assert pick_topic(bag, both, "/c/image_raw/compressed", (IMAGE, COMPRESSED)) == "/c/image_raw/compressed"
    with pytest.raises(BagReadError, match=r"no topic /c/imag in this bag; it has: /c/image_raw \(sensor_msgs"):
        pick_topic(bag, both, "/c/imag", (IMAGE, COMPRESSED))
    with pytest.raises(BagReadError, match="topic /c/info is sensor_msgs/msg/CameraInfo, not sensor_msgs/msg/Image"):
        pick_topic(bag, both, "/c/info", (IMAGE, COMPRESSED))
    with pytest.raises(BagReadError, match=r"no sensor_msgs/msg/CameraInfo topic; it has: /c/image_raw "):
        pick_topic(bag, {"/c/image_raw": IMAGE}, None, (CAMERA_INFO,))
    with pytest.raises(BagReadError, match="it has 2 sensor_msgs/msg/Image topics"):
        pick_topic(bag, {"/a": IMAGE, "/b": IMAGE}, None, (IMAGE, COMPRESSED))

    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 4, y * 5, np.full_like(x, 60)], -1).astype(np.uint8)  # smooth, unlike in every channel
    header = Header(frame_id="cam")
    assert np.array_equal(image_rgb(rgb_to_image(rgb, header), IMAGE), rgb)
    decoded = image_rgb(rgb_to_compressed(rgb, header), COMPRESSED)
    assert decoded.shape == rgb.shape and np.abs(decoded.astype(int) - rgb).mean() < 3  # JPEG: close, channels in order
