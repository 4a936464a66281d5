"""The demo's outputs: a folder per input, no stale files, compressed images that the replay and the report
read, and the summary's figures without ground truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.ros

FRAMES = 5


def test_output_folder_depends_on_the_input() -> None:
    pytest.importorskip("rclpy")
    from hand_mesh_ros.tools.demo import default_out_dir

    assert default_out_dir() == Path("out/demo")
    assert default_out_dir("../data/asl_hand.25fps.mp4") == Path("out/demo_asl_hand.25fps")
    assert default_out_dir("/videos/my clip (2).MOV", root=Path("/r")) == Path("/r/demo_my_clip_2")
    assert default_out_dir("frames/") == Path("out/demo_frames")  # a folder of images
    assert default_out_dir(camera_topics=["/c/image", "/c/info"]) == Path("out/demo_live")


def test_a_previous_runs_outputs_are_deleted(tmp_path: Path) -> None:
    pytest.importorskip("rclpy")
    from hand_mesh_ros.tools.demo import clear_previous_run

    for folder in ("demo_bag", "logs", "report"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "old").write_text("old")
    for name in ("summary.json", "overlay_strip.png", "notes.txt"):
        (tmp_path / name).write_text("old")
    assert clear_previous_run(tmp_path) == ["demo_bag", "logs", "overlay_strip.png", "summary.json", "report"]
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # not the demo's: kept
    assert clear_previous_run(tmp_path) == []


def _hand(side: int, z: float, confidence: float) -> SimpleNamespace:
    joints = [SimpleNamespace(x=0.0, y=0.0, z=z + 0.01 * k) for k in range(21)]
    return SimpleNamespace(handedness=side, confidence=confidence, state=0, joints=joints)


def test_summary_has_3d_figures_without_truth() -> None:
    pytest.importorskip("rclpy")
    from hand_mesh_ros.tools.demo import DemoFrame, summarise
    from hand_mesh_ros.tools.session import FrameOutcome

    hands = [[_hand(2, 0.45, 0.9)], [_hand(2, 0.50, 0.5), _hand(1, 0.62, 0.7)], None, []]
    outcomes = [FrameOutcome(i, i, SimpleNamespace(hands=h) if h is not None else None, 0.01 if h is not None else None)
                for i, h in enumerate(hands)]
    frames = [DemoFrame(np.zeros((2, 2, 3), np.uint8), ()) for _ in hands]
    summary = summarise(outcomes, frames, 1.0)
    assert summary.truth_hands == 0 and summary.cs_mpjpe_mean_mm is None
    assert summary.hands_per_frame_mean == 1.0  # 3 hands in the 3 answered frames
    assert summary.frames_by_hand_count == {"0": 1, "1": 1, "2": 1}
    assert (summary.wrist_z_min_m, summary.wrist_z_median_m, summary.wrist_z_max_m) == (0.45, 0.50, 0.62)
    assert summary.confidence_median == pytest.approx(0.7)
    text = "\n".join(summary.lines())
    assert "wrist depth (z)       min 0.450 m, median 0.500 m, max 0.620 m" in text
    assert "hands per frame       mean 1.00 (frames with n hands, n: 0: 1, 1: 1, 2: 1)" in text
    assert "confidence            median 0.70" in text


@pytest.fixture(scope="module")
def video_run(hand_frames: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo on a 'video' (a folder of a few real frames) with the default output folder: (folder, stdout)."""
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("video_run")
    clip = root / "my clip"
    clip.mkdir()
    for i, rgb in enumerate(hand_frames.frames[:FRAMES]):
        cv2.imwrite(str(clip / f"{i:03d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = root / "out" / "demo_my_clip"
    (out / "report").mkdir(parents=True)
    (out / "report" / "report.md").write_text("a previous run's report")
    proc = subprocess.run([sys.executable, "-m", "hand_mesh_ros.tools.demo", "--video", str(clip), "--frames",
                           str(FRAMES)], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc.stdout


def test_video_run_records_jpeg_and_summarises(video_run: tuple[Path, str]) -> None:
    from hand_mesh_ros.evaluation.bag_report import main as report_main
    from hand_mesh_ros.tools.bag_io import bag_topics

    out, stdout = video_run
    assert not (out / "report").exists()  # the stale report went with the old run
    topics = bag_topics(out / "demo_bag")
    assert topics["/camera/image_raw/compressed"] == "sensor_msgs/msg/CompressedImage"
    assert "/camera/image_raw" not in topics and "/ground_truth/hands" not in topics
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == FRAMES and summary["truth_hands"] == 0 and summary["bag_images"] == "jpeg"
    assert summary["hands_per_frame_mean"] > 0.5 and sum(summary["frames_by_hand_count"].values()) == FRAMES
    assert 0.2 < summary["wrist_z_min_m"] <= summary["wrist_z_median_m"] <= summary["wrist_z_max_m"] < 2.0
    assert 0.0 < summary["confidence_median"] <= 1.0
    assert summary["bag_bytes"] == sum(p.stat().st_size for p in (out / "demo_bag").iterdir())
    assert "wrist depth (z)       min" in stdout and "no ground truth" in stdout
    assert "MB (JPEG images)\noutputs in out/demo_my_clip/: demo_bag/" in stdout
    assert report_main([str(out / "demo_bag"), "--out", str(out / "report")]) == 0
    text = (out / "report" / "report.md").read_text()
    assert text.startswith("no ground truth") and f"| frames with hands | {FRAMES} |" in text  # no warm-up frame


def _image_first_copy(source: Path, dest: Path) -> Path:
    """The demo bag's images and camera info, each image recorded before its camera info (as the demo
    used to write them, and as some recorders do)."""
    from hand_mesh_ros.tools.bag_io import BagRecorder, read_bag

    with BagRecorder(dest) as rec:
        info = None
        for m in read_bag(source, ["/camera/camera_info", "/camera/image_raw/compressed"]):
            if m.topic == "/camera/camera_info":
                info = m
            else:
                assert info is not None and info.stamp_ns == m.stamp_ns
                rec.write(m.topic, m.msg, m.stamp_ns)
                rec.write(info.topic, info.msg, info.stamp_ns)
    return dest


@pytest.mark.parametrize("order", ["as recorded", "image before camera info"])
def test_replay_reads_the_compressed_bag(video_run: tuple[Path, str], tmp_path: Path, order: str) -> None:
    from hand_mesh_ros.bagfiles import read_messages
    from hand_mesh_ros.tools.bag_io import bag_topics

    out, _ = video_run
    source = out / "demo_bag"
    if order != "as recorded":
        source = _image_first_copy(source, tmp_path / "image_first")
    stamps = [m.msg.header.stamp for m in read_messages(source, ["/camera/image_raw/compressed"])]
    replayed = tmp_path / "replayed"
    proc = subprocess.run([sys.executable, "-m", "hand_mesh_ros.tools.bag_replay", str(source), str(replayed)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"replayed {FRAMES} images" in proc.stdout and "skipped" not in proc.stderr
    answered = {(m.msg.header.stamp.sec, m.msg.header.stamp.nanosec): len(m.msg.hands)
                for m in read_messages(replayed, ["/hands"])}
    assert all(answered.get((s.sec, s.nanosec), 0) >= 1 for s in stamps)  # every image answered, hand found
    assert "/camera/image_raw/compressed" in bag_topics(replayed)  # recorded in the input's form
