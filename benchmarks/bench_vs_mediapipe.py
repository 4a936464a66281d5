"""Our whole mesh pipeline against the official MediaPipe runtime's landmarks alone, frame by frame, side by side.

Ours: ``HandReconstructor`` with default settings (full models, ONNX Runtime on the CPU here) producing the full
result: landmarks, camera-space fit, filter, mesh. ``process_frame`` on the ASL video (tracking) and
``process_image`` on the 30 gesture photos (static). Official: ``mediapipe.solutions.hands`` 0.10.21
(``model_complexity=1``; ``static_image_mode`` False / True) in its own throwaway venv
(``tools/make_official_reference.py`` creates it), answering one frame at a time.

Both processes are pinned to the same cores and take turns on every frame (who goes first alternates), so
neither runs while the other is timed and both see the same machine state; each timed call follows a pause
(``--gap-ms``), as frames from a camera do, so that neither side's idle spin-waiting threads run into the other's
turn. Both are timed around the whole call. Configurations: mode tracking/static x max_hands 1/2 x pinned cores
(default core 0 alone, then cores 0 and 1); static also without our small-hand tile search (``small_hands: off``),
which ``process_image`` runs on a photo whose whole image shows no palm and the official runtime does not have.
ONNX Runtime runs one intra-op thread per pinned core (at most 2), the official runtime its own defaults; the
table states both processes' thread counts.

Prints, per configuration, p50/p95 per frame of both, the ratios (ours / official: below 1 we are faster), the
hands found, and our per-stage split. ``--json FILE`` also writes the record ``tools/update_readme.py`` renders
into the README's speed table. Usage::

    python benchmarks/bench_vs_mediapipe.py [--repeats 5] [--frames 325] [--core-sets 0 0,1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hand_mesh_ros.evaluation.speed import MODE_LABELS, STAGES, format_speed_tables, latency_stats, ratios
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.perception.backends import SPIN_DURATION_US
from hand_mesh_ros.reconstruction.config import ReconstructionConfig
from hand_mesh_ros.reconstruction.reconstructor import HandReconstructor
from hand_mesh_ros.reconstruction.types import FrameResult

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "make_official_reference.py"
VIDEO = data_dir("mediapipe_reference/asl_hand.25fps.mp4")
PHOTOS = data_dir("gesture_photos")
WARMUP = 10  # frames of each configuration not timed (both sides)
# static mode without the small-hand tile search, which process_image runs when the whole photo shows no palm
STATIC_NO_TILES = "static_no_tiles"
FPS = 25.0


class Official:
    """The official runtime in the venv's python, serving one frame per request (``--worker serve``)."""

    def __init__(self, venv: Path, inputs_npz: Path) -> None:
        py = venv / "bin" / "python"
        self.log = inputs_npz.with_name("official_worker.log")  # MediaPipe's own logging, shown on a failure
        with self.log.open("w") as log:
            self.proc = subprocess.Popen([str(py), str(TOOL), "--worker", "serve", "--frames", str(inputs_npz)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                         bufsize=1)

    def _ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        line = self.proc.stdout.readline()
        if not line:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"the official runtime's worker ended (exit code {self.proc.wait()}); its last "
                               f"output:\n{tail}")
        return json.loads(line)

    def open(self, static: bool, max_hands: int, cores: list[int]) -> dict[str, Any]:
        return self._ask(op="open", static=static, max_hands=max_hands, cores=cores)

    def process(self, key: str) -> tuple[float, int, int]:
        """(ms, hands found, threads of the process) for the image ``key``."""
        reply = self._ask(op="process", key=key)
        return reply["ms"], reply["hands"], reply["threads"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
        self.proc.wait(timeout=30)


def load_inputs(frames: int) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Up to ``frames`` RGB frames of the ASL video and the gesture photos (name -> RGB)."""
    cap = cv2.VideoCapture(str(VIDEO))
    video = []
    while len(video) < frames:
        ok, bgr = cap.read()
        if not ok:
            break
        video.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    photos = {p.stem: cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(PHOTOS.glob("*.jpg"))}
    return video, photos


def camera_for(image: np.ndarray) -> CameraModel:
    """Unknown intrinsics: focal length = the long side, principal point in the centre."""
    h, w = image.shape[:2]
    return CameraModel.pinhole(w, h, float(max(w, h)))


def stage_split(result: FrameResult) -> list[float]:
    t = result.times
    named = [t.detection, t.landmarks, t.geometry, t.fit]
    return [*named, max(0.0, t.total - sum(named))]


def run_config(official: Official, mode: str, max_hands: int, cores: list[int], video: list[np.ndarray],
               photos: dict[str, np.ndarray], repeats: int, gap_s: float) -> dict[str, Any]:
    """One configuration, frames taken in turn; the row of the record."""
    os.sched_setaffinity(0, cores)
    static = mode != "tracking"
    settings = {"max_hands": max_hands, **({"small_hands": "off"} if mode == STATIC_NO_TILES else {})}
    rec = HandReconstructor(ReconstructionConfig(**settings))  # ONNX Runtime threads follow the pinning
    official.open(static, max_hands, cores)
    if static:
        items = [(f"photo_{name}", image, camera_for(image)) for _ in range(repeats) for name, image in photos.items()]
    else:
        cam = camera_for(video[0])
        items = [(f"video_{i}", image, cam) for i, image in enumerate(video)]
    ours_ms, theirs_ms, stages = [], [], []
    found = [0, 0]
    threads = 0
    for k, (key, image, cam) in enumerate(items):
        def ours() -> tuple[FrameResult, float]:
            t0 = time.perf_counter()  # the whole call, as the official runtime's is timed
            result = rec.process_image(image, cam) if static else rec.process_frame(image, cam, k / FPS)  # noqa: B023
            return result, (time.perf_counter() - t0) * 1e3

        # a pause before each timed call, as between the frames of a camera: the other side's idle threads
        # (spin-waiting after their work, both runtimes do) settle before this side is timed
        if k % 2:
            time.sleep(gap_s)
            result, our_ms = ours()
            time.sleep(gap_s)
            ms, hands, threads = official.process(key)
        else:
            time.sleep(gap_s)
            ms, hands, threads = official.process(key)
            time.sleep(gap_s)
            result, our_ms = ours()
        if k < WARMUP:
            continue
        ours_ms.append(our_ms)
        theirs_ms.append(ms)
        stages.append(stage_split(result))
        found[0] += len(result.hands)
        found[1] += hands
    sess_threads = rec.landmark_model.backend.session.get_session_options().intra_op_num_threads  # type: ignore[attr-defined]
    rec.close()
    med = np.median(np.asarray(stages), axis=0)
    return {"mode": mode, "max_hands": max_hands, "cores": len(cores), "core_set": cores,
            "ours": latency_stats(ours_ms), "official": latency_stats(theirs_ms), "samples": len(ours_ms),
            "hands": found, "stages": {s: float(v) for s, v in zip(STAGES, med, strict=True)},
            "threads": {"ours_onnxruntime_intra_op": sess_threads, "ours_process": len(os.listdir("/proc/self/task")),
                        "official_process": threads}}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=325, help="ASL video frames (tracking)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the photos (static)")
    parser.add_argument("--core-sets", nargs="+", default=None,
                        help="comma-separated CPU sets to pin both to (default: 0, then 0,1 when there are two)")
    parser.add_argument("--max-hands", default="1,2")
    parser.add_argument("--gap-ms", type=float, default=10.0,
                        help="pause before each timed call (a 30 fps camera leaves 15-20 ms between frames)")
    parser.add_argument("--modes", default=f"tracking,static,{STATIC_NO_TILES}",
                        help=f"comma-separated: tracking, static, {STATIC_NO_TILES} (static without the tile search)")
    parser.add_argument("--mp-venv", type=Path, default=Path("/tmp/mp-ref-venv"))
    parser.add_argument("--json", type=Path, help="write the record (rendered into the README) here")
    args = parser.parse_args()
    if not VIDEO.exists() or not PHOTOS.is_dir():
        print(f"needs {VIDEO} and {PHOTOS}", file=sys.stderr)
        return 1
    if not (args.mp_venv / "bin" / "python").exists():
        print(f"needs the official runtime in {args.mp_venv}: python tools/make_official_reference.py", file=sys.stderr)
        return 1
    modes = [m.strip() for m in args.modes.split(",")]
    if set(modes) - set(MODE_LABELS):
        parser.error(f"unknown mode(s) {sorted(set(modes) - set(MODE_LABELS))}; known: {list(MODE_LABELS)}")
    available = sorted(os.sched_getaffinity(0))
    core_sets = ([[int(c) for c in s.split(",")] for s in args.core_sets] if args.core_sets
                 else [available[:1]] + ([available[:2]] if len(available) >= 2 else []))
    video, photos = load_inputs(args.frames)
    h, w = video[0].shape[:2]
    record: dict[str, Any] = {
        "cpu": cpu_name(),
        "inputs": {"video": f"{VIDEO.name} ({w}x{h}, {len(video)} frames)", "photos": f"{len(photos)} gesture photos",
                   "repeats": args.repeats, "warmup": WARMUP, "gap_ms": args.gap_ms},
        "rows": [],
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "inputs.npz"
        np.savez(npz, **{f"video_{i}": f for i, f in enumerate(video)},
                 **{f"photo_{name}": image for name, image in photos.items()})
        official = Official(args.mp_venv, npz)
        try:
            configs = [(m, int(n), c) for c in core_sets for m in modes
                       for n in args.max_hands.split(",")]
            for k, (mode, max_hands, cores) in enumerate(configs, 1):
                row = run_config(official, mode, max_hands, cores, video, photos, args.repeats, args.gap_ms / 1e3)
                record["rows"].append(row)
                r50, r95 = ratios(row)
                print(f"[{k}/{len(configs)}, {time.monotonic() - started:.0f} s] {MODE_LABELS[mode]}, "
                      f"max_hands {max_hands}, cores {cores}: ours {row['ours']['p50']:.2f} / "
                      f"{row['ours']['p95']:.2f} ms, official {row['official']['p50']:.2f} / "
                      f"{row['official']['p95']:.2f} ms, ratio {r50:.2f} / {r95:.2f}",
                      file=sys.stderr, flush=True)
        finally:
            official.close()
    threads = {(r["cores"], r["threads"]["ours_onnxruntime_intra_op"], r["threads"]["ours_process"],
                r["threads"]["official_process"]) for r in record["rows"]}
    record["threads"] = {
        "ours": "ONNX Runtime " + ", ".join(sorted({f"{t[1]} intra-op thread(s) on {t[0]} core(s)" for t in threads}))
        + f" (idle workers spin at most {SPIN_DURATION_US} us), 1 inter-op; numpy's BLAS 1 thread inside a frame; "
        "process threads " + "/".join(sorted({str(t[2]) for t in threads})),
        "official": "MediaPipe's defaults; process threads " + "/".join(sorted({str(t[3]) for t in threads})),
    }
    print(format_speed_tables(record))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
