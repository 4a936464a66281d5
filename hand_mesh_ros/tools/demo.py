"""The demo: both nodes on a generated hand sequence (or a video, or a live camera), recorded and scored.

    python -m hand_mesh_ros.tools.demo [--out out/demo] [--frames 60] [--fps 15]
    python -m hand_mesh_ros.tools.demo --video FILE [--focal PX]          # a video file instead
    python -m hand_mesh_ros.tools.demo --camera-topics IMAGE INFO --seconds 20   # a live camera

With no argument it renders a short sequence of the open hand model (both hands, several poses and
depths, skin shading over a background; cached after the first run) with known intrinsics and ground
truth, starts the detector and reconstruction nodes as separate processes on loopback DDS, feeds them the
frames as a camera would, and writes into ``--out``: ``demo_bag/`` (MCAP: inputs, outputs and the ground
truth on /ground_truth/hands), ``overlay_strip.png`` and ``summary.json``; it prints a summary (frames,
hands found, fps, latency p50/p95, camera-space error against the truth).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import Header

from hand_mesh_ros.msg import Hand, HandArray

from ..evaluation.metrics import mpjpe, pa_mpjpe, root_error
from ..geometry.camera import CameraModel
from ..ros.hand_msgs import drawing_of, joints_of, side_of
from ..visualization.overlay import draw_hands, image_strip
from .bag_io import BagRecorder
from .frame_source import read_frames, video_fps
from .local_dds import require_local_dds
from .session import FrameOutcome, PipelineSession


@dataclass(frozen=True)
class DemoFrame:
    rgb: np.ndarray
    truth: tuple[Any, ...]  # synthetic HandTruth per visible hand; empty without ground truth


@dataclass(frozen=True)
class DemoSummary:
    frames: int
    frames_answered: int
    frames_with_hands: int
    truth_hands: int
    truth_hands_found: int
    fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    cs_mpjpe_mean_mm: float | None
    cs_mpjpe_median_mm: float | None
    wrist_mean_mm: float | None
    pa_mpjpe_mean_mm: float | None

    def lines(self) -> list[str]:
        out = [
            f"frames fed            {self.frames} ({self.frames_answered} answered, "
            f"{self.frames_with_hands} with hands)",
            f"throughput            {self.fps:.1f} frames/s (lock-step: one frame in flight)",
            f"latency image->hands  p50 {self.latency_p50_ms:.1f} ms, p95 {self.latency_p95_ms:.1f} ms",
        ]
        if self.truth_hands:
            out += [
                f"hands found           {self.truth_hands_found} of {self.truth_hands} "
                f"({100.0 * self.truth_hands_found / self.truth_hands:.1f} %)",
                f"camera-space MPJPE    mean {self.cs_mpjpe_mean_mm:.1f} mm, median {self.cs_mpjpe_median_mm:.1f} mm",
                f"wrist error           mean {self.wrist_mean_mm:.1f} mm",
                f"PA-MPJPE              mean {self.pa_mpjpe_mean_mm:.1f} mm",
            ]
        return out


def truth_msg(header: Header, truth: Sequence[Any]) -> Any:
    """Ground truth as a HandArray (joints, pixels, vertices), for the bag and for bag evaluation."""
    hands = []
    for i, t in enumerate(truth):
        hand = Hand(id=i + 1, confidence=1.0, model=Hand.MODEL_OPEN_HAND, model_name="ground_truth",
                    handedness=Hand.HANDEDNESS_LEFT if t.side == "left" else Hand.HANDEDNESS_RIGHT)
        hand.joint_confidences = np.ones(21, np.float32)
        hand.joints = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in t.joints]
        hand.joints_px = [Point(x=float(x), y=float(y), z=0.0) for x, y in t.joints_px]
        hands.append(hand)
    return HandArray(header=header, hands=hands)


def match_hands(predicted: Sequence[Any], truth: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Pairs (predicted Hand message, truth) of the same side, nearest wrists first."""
    pairs, used = [], set()
    for t in truth:
        best, best_d = None, np.inf
        for k, p in enumerate(predicted):
            if k in used or side_of(p) != t.side:
                continue
            d = float(np.linalg.norm(joints_of(p)[0] - t.joints[0]))
            if d < best_d:
                best, best_d = k, d
        if best is not None:
            used.add(best)
            pairs.append((predicted[best], t))
    return pairs


def summarise(outcomes: Sequence[FrameOutcome], frames: Sequence[DemoFrame], elapsed_s: float) -> DemoSummary:
    lat = np.array([o.latency_s for o in outcomes if o.latency_s is not None]) * 1e3
    errs, wrists, pas = [], [], []
    truth_hands = found = 0
    for o, f in zip(outcomes, frames, strict=True):
        predicted = list(o.hands.hands) if o.hands is not None else []
        truth_hands += len(f.truth)
        for p, t in match_hands(predicted, f.truth):
            found += 1
            pred = joints_of(p)[None]
            gt = np.asarray(t.joints, dtype=np.float64)[None]
            errs.append(float(mpjpe(pred, gt)[0]) * 1e3)
            wrists.append(float(root_error(pred, gt)[0]) * 1e3)
            pas.append(float(pa_mpjpe(pred, gt)[0]) * 1e3)

    def stat(values: list[float], fn: Any) -> float | None:
        return float(fn(values)) if values else None

    return DemoSummary(
        frames=len(outcomes),
        frames_answered=sum(o.hands is not None for o in outcomes),
        frames_with_hands=sum(o.hands is not None and len(o.hands.hands) > 0 for o in outcomes),
        truth_hands=truth_hands,
        truth_hands_found=found,
        fps=len(outcomes) / max(elapsed_s, 1e-9),
        latency_p50_ms=float(np.percentile(lat, 50)) if lat.size else float("nan"),
        latency_p95_ms=float(np.percentile(lat, 95)) if lat.size else float("nan"),
        cs_mpjpe_mean_mm=stat(errs, np.mean),
        cs_mpjpe_median_mm=stat(errs, np.median),
        wrist_mean_mm=stat(wrists, np.mean),
        pa_mpjpe_mean_mm=stat(pas, np.mean),
    )


def synthetic_frames(count: int) -> tuple[Iterator[DemoFrame], CameraModel, float, float | None]:
    """The generated sequence (made once, then cached): frames, camera, fps, the hands' mean hand length."""
    from ..synthetic import load_or_make_sequence

    seq = load_or_make_sequence(num_frames=count)
    lengths = {h.side: h.hand_length_m for f in seq.frames for h in f.hands}
    length = float(np.mean(list(lengths.values()))) if lengths else None
    return (DemoFrame(f.rgb, tuple(f.hands)) for f in seq.frames), seq.camera, seq.fps, length


def video_frames(path: str, focal: float | None, limit: int | None) -> tuple[Iterator[DemoFrame], CameraModel, float]:
    frames = read_frames(path, limit)
    first = next(frames)
    h, w = first.shape[:2]
    camera = CameraModel.pinhole(w, h, float(focal or h))

    def gen() -> Iterator[DemoFrame]:
        yield DemoFrame(first, ())
        for rgb in frames:
            yield DemoFrame(rgb, ())

    return gen(), camera, video_fps(path)


def run_frames(frames: Iterator[DemoFrame], camera: CameraModel, fps: float, out: Path,
               node_params: dict[str, list[str]]) -> tuple[DemoSummary, list[np.ndarray]]:
    """Feed the frames through the nodes (lock-step, at most ``fps``), record the bag, draw overlays."""
    frame_list: list[DemoFrame] = []
    overlays: list[np.ndarray] = []
    bag_path = out / "demo_bag"
    if bag_path.exists():
        shutil.rmtree(bag_path)
    with BagRecorder(bag_path) as bag, PipelineSession(recorder=bag, params=node_params, log_dir=out / "logs",
                                                        listen=()) as session:
        first = next(frames)
        waited = session.wait_ready(first.rgb, camera)
        print(f"[demo] nodes ready after {waited:.1f} s", file=sys.stderr)
        period = 1.0 / fps
        base_ns = session.node.get_clock().now().nanoseconds + 1_000_000_000
        start = time.monotonic()
        for i, frame in enumerate([first, *frames]):
            stamp_ns = base_ns + int(i * period * 1e9)
            outcome = session.feed(i, frame.rgb, camera, stamp_ns, wait_s=5.0)
            header = Header(frame_id=session.frame_id)
            header.stamp.sec, header.stamp.nanosec = stamp_ns // 10**9, stamp_ns % 10**9
            if frame.truth:
                bag.write("/ground_truth/hands", truth_msg(header, frame.truth), stamp_ns)
            frame_list.append(frame)
            overlays.append(_overlay(frame.rgb, outcome, session, camera))
            if (i + 1) % 10 == 0:
                print(f"[demo] {i + 1} frames", file=sys.stderr)
            while time.monotonic() < start + (i + 1) * period:
                session.spin(0.002)
        elapsed = time.monotonic() - start
        outcomes = list(session.outcomes)
    return summarise(outcomes, frame_list, elapsed), overlays


def _overlay(rgb: np.ndarray, outcome: FrameOutcome, session: PipelineSession, camera: CameraModel) -> np.ndarray:
    if outcome.hands is None:
        img = rgb.copy()
        cv2.putText(img, "no answer", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 0, 0), 2)
        return img
    faces = session.listener.received.faces
    drawings = [drawing_of(h, faces.get((h.model, h.handedness))) for h in outcome.hands.hands]
    return draw_hands(rgb, drawings, camera)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.tools.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/demo", help="output folder (bag, overlay strip, summary)")
    parser.add_argument("--frames", type=int, default=60, help="frames of the generated sequence")
    parser.add_argument("--fps", type=float, default=15.0, help="most frames per second fed to the nodes")
    parser.add_argument("--video", help="a video file instead of the generated sequence")
    parser.add_argument("--focal", type=float, help="--video: focal length in px (default: image height)")
    parser.add_argument("--camera-topics", nargs=2, metavar=("IMAGE", "INFO"),
                        help="a live camera: run the launch-equivalent on these topics (see README)")
    parser.add_argument("--seconds", type=float, default=20.0, help="--camera-topics: how long to run")
    args = parser.parse_args(argv)
    require_local_dds()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params: dict[str, list[str]] = {"reconstruction_node": [], "detector_node": []}
    if args.camera_topics:
        from .live import run_live

        return run_live(args.camera_topics[0], args.camera_topics[1], args.seconds, out)
    if args.video:
        frames, camera, _ = video_frames(args.video, args.focal, args.frames if args.frames != 60 else None)
    else:
        frames, camera, _, length = synthetic_frames(args.frames)
        if length is not None:
            # The user's hand length is a parameter; here the rendered hands' own length is known.
            params["reconstruction_node"].append(f"hand_length_m:={length:.4f}")
    summary, overlays = run_frames(frames, camera, args.fps, out, params)
    picks = np.linspace(0, len(overlays) - 1, num=min(8, len(overlays))).round().astype(int)
    strip = image_strip([overlays[i] for i in picks], height=240, columns=4)
    cv2.imwrite(str(out / "overlay_strip.png"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2))
    print("\n".join(["", "hand_mesh_ros demo summary", *summary.lines(),
                     f"outputs in {out}/: demo_bag/ (MCAP), overlay_strip.png, summary.json"]))
    return 0 if summary.frames_with_hands > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
