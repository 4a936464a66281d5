"""The demo: both nodes on a generated hand sequence (or a video, or a live camera), recorded and scored.

    python -m hand_mesh_ros.tools.demo [--out DIR] [--frames 60] [--fps 15] [--raw-images]
    python -m hand_mesh_ros.tools.demo --video FILE [--focal PX]          # a video file instead
    python -m hand_mesh_ros.tools.demo --camera-topics IMAGE INFO --seconds 20   # a live camera
    python -m hand_mesh_ros.tools.demo --depth                             # with a synthetic depth camera

With no argument it renders a short sequence of the open hand model (both hands, several poses and
depths, skin shading over a background; cached after the first run) with known intrinsics and ground
truth, starts the detector and reconstruction nodes as separate processes on loopback DDS, feeds them the
frames as a camera would, and writes into the output folder: ``demo_bag/`` (MCAP: inputs, outputs and the
ground truth on /ground_truth/hands), ``overlay_strip.png`` and ``summary.json``; it prints a summary
(frames, hands found, fps, latency p50/p95, hands per frame, wrist depth range, confidence, and the
camera-space error against the truth when there is one) and the bag's size.

``--depth`` adds a synthetic depth camera: the generated RGB-D sequence (``synthetic.rgbd``: hands of a
person's proportions moving in depth in front of a wall, a structured-light sensor model), its ``16UC1``
depth (millimetres, registered to the colour image) published with each colour image's header on
:data:`DEPTH_TOPIC` and recorded, and the reconstruction node started with ``depth_image`` set to it and
``hand_length_m`` left at its default, so that the depth calibrates the hand size. The summary then also says
how many frames used their depth (from the node's ``/diagnostics``) and each side's hand size and its source,
beside the rendered hand's length.

The output folder is ``--out``, else one per input (:func:`default_out_dir`): ``out/demo`` for the generated
sequence, ``out/demo_<video name>`` for ``--video``, ``out/demo_live`` for a camera. A previous run's
outputs there (bag, logs, overlay strip, summary, and the ``report/`` folder the README's bag_report command
writes) are deleted first, so nothing stale is left beside the new results. Images are recorded as JPEG
(sensor_msgs/CompressedImage on /camera/image_raw/compressed); ``--raw-images`` records raw
sensor_msgs/Image on /camera/image_raw instead (about 30 times larger).
"""

from __future__ import annotations

import argparse
import json
import re
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

from ..cli import DefaultsHelpFormatter
from ..evaluation.hand_stats import hand_stats
from ..evaluation.metrics import mpjpe, pa_mpjpe, root_error
from ..geometry.camera import CameraModel
from ..ros.hand_msgs import drawing_of, joints_of, side_of
from ..visualization.overlay import draw_hands, image_strip
from .bag_io import BagRecorder
from .frame_source import read_frames, video_fps
from .local_dds import require_local_dds
from .session import FrameOutcome, PipelineSession

# where --depth publishes (and records) the synthetic depth camera's images (a RealSense's aligned stream is named
# like this, under its camera's namespace: /camera/camera/aligned_depth_to_color/image_raw for realsense2_camera 4.x)
DEPTH_TOPIC = "/camera/aligned_depth_to_color/image_raw"
RECONSTRUCTION_STATUS = "hand_reconstruction: hand reconstruction"  # its DiagnosticStatus name


@dataclass(frozen=True)
class DemoFrame:
    rgb: np.ndarray
    truth: tuple[Any, ...]  # synthetic HandTruth per visible hand; empty without ground truth
    depth_mm: np.ndarray | None = None  # (H, W) uint16 millimetres registered to rgb, 0 = no depth (--depth)


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
    # what the predictions show on their own (all the 3D figures a run without ground truth has)
    hands_per_frame_mean: float
    frames_by_hand_count: dict[str, int]  # "0", "1", "2" -> answered frames with that many hands
    wrist_z_min_m: float | None
    wrist_z_median_m: float | None
    wrist_z_max_m: float | None
    confidence_median: float | None

    def lines(self) -> list[str]:
        out = [
            f"frames fed            {self.frames} ({self.frames_answered} answered, "
            f"{self.frames_with_hands} with hands)",
            f"throughput            {self.fps:.1f} frames/s (lock-step: one frame in flight)",
            f"latency image->hands  p50 {self.latency_p50_ms:.1f} ms, p95 {self.latency_p95_ms:.1f} ms",
        ]
        counts = ", ".join(f"{k}: {v}" for k, v in self.frames_by_hand_count.items()) or "-"
        out.append(f"hands per frame       mean {self.hands_per_frame_mean:.2f} (frames with n hands, n: {counts})")
        if self.wrist_z_min_m is not None:
            out += [
                f"wrist depth (z)       min {self.wrist_z_min_m:.3f} m, median {self.wrist_z_median_m:.3f} m, "
                f"max {self.wrist_z_max_m:.3f} m",
                f"confidence            median {self.confidence_median:.2f}",
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


def summary_text(summary: DemoSummary, source: str, bag_bytes: int, images: str) -> list[str]:
    """The summary a demo run prints (and the README shows, rendered from its summary.json)."""
    note = [] if summary.truth_hands else [
        "no ground truth: the 3D figures describe the predictions only; depths scale with the focal length "
        "(--focal) and hand_length_m"]
    return [f"hand_mesh_ros demo summary ({source})", *summary.lines(), *note,
            f"bag                   {bag_bytes / 1e6:.1f} MB ({images})"]


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

    stats = hand_stats([list(o.hands.hands) for o in outcomes if o.hands is not None])

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
        hands_per_frame_mean=stats.hands_per_frame_mean,
        frames_by_hand_count=stats.frames_by_hand_count,
        wrist_z_min_m=stats.wrist_z_min_m,
        wrist_z_median_m=stats.wrist_z_median_m,
        wrist_z_max_m=stats.wrist_z_max_m,
        confidence_median=stats.confidence_median,
    )


def synthetic_frames(count: int) -> tuple[Iterator[DemoFrame], CameraModel, float, float | None]:
    """The generated sequence (made once, then cached): frames, camera, fps, the hands' mean hand length."""
    from ..synthetic import load_or_make_sequence

    seq = load_or_make_sequence(num_frames=count)
    lengths = {h.side: h.hand_length_m for f in seq.frames for h in f.hands}
    length = float(np.mean(list(lengths.values()))) if lengths else None
    return (DemoFrame(f.rgb, tuple(f.hands)) for f in seq.frames), seq.camera, seq.fps, length


def rgbd_frames(count: int) -> tuple[Iterator[DemoFrame], CameraModel, float, float]:
    """The generated RGB-D sequence (made once, then cached): frames with depth, camera, fps, hand length (m)."""
    from ..synthetic.rgbd import load_or_make_rgbd_sequence

    seq = load_or_make_rgbd_sequence(num_frames=count)
    frames = (DemoFrame(f.rgb, tuple(f.hands), f.depth_mm) for f in seq.frames)
    return frames, seq.camera, seq.fps, float(seq.hand_length_m)


def depth_msg(depth_mm: np.ndarray, header: Header) -> Any:
    """A ``16UC1`` sensor_msgs/Image (millimetres, 0 = no depth) of an (H, W) uint16 array, with ``header``."""
    from sensor_msgs.msg import Image

    mm = np.ascontiguousarray(depth_mm, dtype="<u2")
    return Image(header=header, height=int(mm.shape[0]), width=int(mm.shape[1]), encoding="16UC1",
                 is_bigendian=0, step=int(mm.shape[1]) * 2, data=mm.tobytes())


@dataclass(frozen=True)
class DepthReport:
    """What the reconstruction node's diagnostics said about depth over the fed frames: frames that used their
    depth image, went without (missing), had it refused (rejected, all reasons), depth images no frame used
    (unmatched, all reasons), and each side's hand size: (length m, source, samples)."""

    used: int
    missing: int
    rejected: int
    unmatched: int
    hand_sizes: dict[str, tuple[float, str, int]]

    def lines(self, frames: int, true_length_m: float | None, sides: Sequence[str] | None = None) -> list[str]:
        """Summary lines; ``sides``: only these sides' hand sizes (e.g. the sides the sequence shows)."""
        out = [f"depth                 {self.used} of {frames} frames used their depth image ({self.missing} "
               f"without, {self.rejected} refused; {self.unmatched} depth images unused)"]
        for side, (length, source, samples) in sorted(self.hand_sizes.items()):
            if sides is not None and side not in sides:
                continue
            truth = (f"; rendered hand {true_length_m:.3f} m: the size the landmarks agree with, see the README's "
                     "RGB-D section") if true_length_m is not None else ""
            out.append(f"hand size {side:<11} {length:.3f} m ({source}, from {samples} depth frames{truth})")
        return out


def _depth_counts(values: dict[str, str]) -> dict[str, int]:
    def total(prefix: str) -> int:
        return sum(int(v) for k, v in values.items() if k.startswith(prefix))

    return {"used": int(values.get("depth frames used", 0)), "missing": int(values.get("depth frames missing", 0)),
            "rejected": total("depth frames rejected: "), "unmatched": total("depth frames unmatched: ")}


def depth_report(before: dict[str, str], after: dict[str, str]) -> DepthReport:
    """The depth counts between two diagnostics snapshots (key -> value) and the hand sizes of the later one."""
    start, end = _depth_counts(before), _depth_counts(after)
    sizes = {}
    for key, value in after.items():
        if key.startswith("hand size ") and key.endswith(": length (m)"):
            side = key[len("hand size "):-len(": length (m)")]
            sizes[side] = (float(value), after.get(f"hand size {side}: source", "?"),
                           int(after.get(f"hand size {side}: samples", 0)))
    return DepthReport(**{k: end[k] - start[k] for k in end}, hand_sizes=sizes)


class StatusWatch:
    """The latest /diagnostics values (key -> value) of the reconstruction node, with their arrival count."""

    def __init__(self, node: Any) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        self.values: dict[str, str] = {}
        self.count = 0
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_status, 10)

    def _on_status(self, msg: Any) -> None:
        for status in msg.status:
            if status.name == RECONSTRUCTION_STATUS:
                self.values = {kv.key: kv.value for kv in status.values}
                self.count += 1

    def fresh(self, session: PipelineSession, timeout_s: float = 3.0) -> dict[str, str]:
        """Values of a status published from now on (the node counts what happened before it)."""
        seen, end = self.count, time.monotonic() + timeout_s
        while self.count == seen and time.monotonic() < end:
            session.spin(0.05)
        return dict(self.values)


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


# what a demo run writes into its folder, and the report/ folder the README's bag_report command adds
RUN_OUTPUTS = ("demo_bag", "logs", "overlay_strip.png", "summary.json", "report")


def default_out_dir(video: str | None = None, camera_topics: Sequence[str] | None = None,
                    root: Path = Path("out"), depth: bool = False) -> Path:
    """The output folder of a run without ``--out``: one per input, so runs on different inputs coexist."""
    if depth:
        return root / "demo_depth"
    if camera_topics:
        return root / "demo_live"
    if video:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(video).stem).strip("._") or "video"
        return root / f"demo_{name}"
    return root / "demo"


def clear_previous_run(out: Path) -> list[str]:
    """Delete a previous run's outputs (:data:`RUN_OUTPUTS`) in ``out``; returns the names deleted.

    Other files in the folder are left alone."""
    removed = []
    for name in RUN_OUTPUTS:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (or of the file ``path``)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_frames(frames: Iterator[DemoFrame], camera: CameraModel, fps: float, out: Path,
               node_params: dict[str, list[str]], compress_images: bool = True, depth_topic: str | None = None
               ) -> tuple[DemoSummary, list[np.ndarray], DepthReport | None]:
    """Feed the frames through the nodes (lock-step, at most ``fps``), record the bag, draw overlays.

    ``compress_images``: record the fed images as JPEG (CompressedImage) rather than raw. ``depth_topic``:
    publish (and record) each frame's depth on it, with the colour image's header, just before the colour
    image (as the reconstruction node's depth_image); then also report what the node did with it."""
    frame_list: list[DemoFrame] = []
    overlays: list[np.ndarray] = []
    bag_path = out / "demo_bag"
    if bag_path.exists():
        shutil.rmtree(bag_path)
    with BagRecorder(bag_path) as bag, PipelineSession(recorder=bag, params=node_params, log_dir=out / "logs",
                                                        listen=(), compress_images=compress_images) as session:
        first = next(frames)
        watch = StatusWatch(session.node) if depth_topic else None
        depth_pub = None
        if depth_topic:
            from sensor_msgs.msg import Image

            from ..ros.qos import SENSOR

            depth_pub = session.node.create_publisher(Image, depth_topic, SENSOR)
        warm_depth = None
        if depth_pub is not None and first.depth_mm is not None:
            pub, first_depth = depth_pub, first.depth_mm

            def warm_depth(header: Any) -> None:  # the warm-up images get their depth too
                pub.publish(depth_msg(first_depth, header))

        waited = session.wait_ready(first.rgb, camera, with_header=warm_depth)
        print(f"[demo] nodes ready after {waited:.1f} s", file=sys.stderr)
        before = watch.fresh(session) if watch is not None else {}  # the counts from here on
        period = 1.0 / fps
        base_ns = session.node.get_clock().now().nanoseconds + 1_000_000_000
        start = time.monotonic()
        for i, frame in enumerate([first, *frames]):
            stamp_ns = base_ns + int(i * period * 1e9)
            header = Header(frame_id=session.frame_id)
            header.stamp.sec, header.stamp.nanosec = stamp_ns // 10**9, stamp_ns % 10**9
            if depth_pub is not None and depth_topic is not None and frame.depth_mm is not None:
                depth = depth_msg(frame.depth_mm, header)
                depth_pub.publish(depth)
                bag.write(depth_topic, depth, stamp_ns)
            outcome = session.feed(i, frame.rgb, camera, stamp_ns, wait_s=5.0)
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
        report = depth_report(before, watch.fresh(session)) if watch is not None else None
    return summarise(outcomes, frame_list, elapsed), overlays, report


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
                                     description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--out", type=Path,
                        help="output folder (bag, overlay strip, summary); default: out/demo for the generated "
                        "sequence, out/demo_<video name> for --video, out/demo_live for --camera-topics. "
                        "A previous run's outputs there are deleted first")
    parser.add_argument("--frames", type=int, default=60, help="frames of the generated sequence")
    parser.add_argument("--fps", type=float, default=15.0, help="most frames per second fed to the nodes")
    parser.add_argument("--video", help="a video file instead of the generated sequence")
    parser.add_argument("--focal", type=float, help="--video: focal length in px (default: image height)")
    parser.add_argument("--camera-topics", nargs=2, metavar=("IMAGE", "INFO"),
                        help="a live camera: run the launch-equivalent on these topics (see README)")
    parser.add_argument("--seconds", type=float, default=20.0, help="--camera-topics: how long to run")
    parser.add_argument("--raw-images", action="store_true",
                        help="record raw sensor_msgs/Image (default: JPEG CompressedImage on <topic>/compressed)")
    parser.add_argument("--depth", action="store_true",
                        help=f"a synthetic depth camera too: the generated RGB-D sequence, its 16UC1 depth on "
                        f"{DEPTH_TOPIC}, the reconstruction node's depth_image set (default out: out/demo_depth)")
    args = parser.parse_args(argv)
    if args.depth and (args.video or args.camera_topics):
        parser.error("--depth runs the generated RGB-D sequence; it does not combine with --video or "
                     "--camera-topics (for a real depth camera see the README's depth section)")
    require_local_dds()
    out = args.out if args.out is not None else default_out_dir(args.video, args.camera_topics, depth=args.depth)
    out.mkdir(parents=True, exist_ok=True)
    params: dict[str, list[str]] = {"reconstruction_node": [], "detector_node": []}
    if args.camera_topics:
        from .live import run_live

        return run_live(args.camera_topics[0], args.camera_topics[1], args.seconds, out)
    removed = clear_previous_run(out)
    if removed:
        print(f"[demo] deleted the previous run's {', '.join(removed)} in {out}/", file=sys.stderr)
    length: float | None = None
    if args.video:
        frames, camera, _ = video_frames(args.video, args.focal, args.frames if args.frames != 60 else None)
    elif args.depth:
        # hand_length_m stays at its default: the depth measures the hand (hand_size_mode depth)
        frames, camera, _, length = rgbd_frames(args.frames)
        params["reconstruction_node"].append(f"depth_image:={DEPTH_TOPIC}")
    else:
        frames, camera, _, length = synthetic_frames(args.frames)
        if length is not None:
            # The user's hand length is a parameter; here the rendered hands' own length is known.
            params["reconstruction_node"].append(f"hand_length_m:={length:.4f}")
    shown_sides: set[str] = set()

    def noting_sides(frames: Iterator[DemoFrame]) -> Iterator[DemoFrame]:
        for frame in frames:
            shown_sides.update(t.side for t in frame.truth)
            yield frame

    frames = noting_sides(frames)
    summary, overlays, depth = run_frames(frames, camera, args.fps, out, params,
                                          compress_images=not args.raw_images,
                                          depth_topic=DEPTH_TOPIC if args.depth else None)
    picks = np.linspace(0, len(overlays) - 1, num=min(8, len(overlays))).round().astype(int)
    strip = image_strip([overlays[i] for i in picks], height=240, columns=4)
    cv2.imwrite(str(out / "overlay_strip.png"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    bag_bytes = folder_bytes(out / "demo_bag")
    images = "raw images" if args.raw_images else "JPEG images"
    source = Path(args.video).name if args.video else "live camera" if args.camera_topics else (
        "generated RGB-D sequence" if args.depth else "generated sequence")
    if depth is not None:
        images += f", 16UC1 depth on {DEPTH_TOPIC}"
    extra = {} if depth is None else {"depth": {**asdict(depth), "true_hand_length_m": length}}
    (out / "summary.json").write_text(json.dumps({**asdict(summary), "bag_bytes": bag_bytes, "source": source,
                                                  "bag_images": "raw" if args.raw_images else "jpeg", **extra},
                                                 indent=2))
    depth_lines = depth.lines(summary.frames, length, sorted(shown_sides) or None) if depth is not None else []
    print("\n".join(["", *summary_text(summary, source, bag_bytes, images), *depth_lines,
                     f"outputs in {out}/: demo_bag/ (MCAP), overlay_strip.png, summary.json"]))
    if depth is not None and depth.used == 0:
        print("[demo] the reconstruction node used no depth image (see its log in logs/)", file=sys.stderr)
        return 1
    return 0 if summary.frames_with_hands > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
