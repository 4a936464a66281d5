"""Measure the README's figures and images and write them, so that they cannot drift from the code.

    python tools/update_readme.py            # run the demo and the handgraph_dev evaluation, rewrite README.md
    python tools/update_readme.py --render   # only rewrite README.md from docs/figures.json

Each generated part of README.md sits between ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->``; it is
rendered from ``docs/figures.json`` (the measured values, kept in the repository) by :data:`BLOCKS`, and
``test/test_readme_figures.py`` checks that README.md says exactly what the JSON holds. Measuring:

- ``demo``: ``python -m hand_mesh_ros.tools.demo`` (the generated two-hand sequence through both nodes): its
  printed summary, and its overlay strip copied to ``docs/images/demo_overlay.jpg``;
- ``video``: the same demo on the real ASL video (``--video``): its summary and the bag's size;
- ``accuracy``: ``python -m hand_mesh_ros.evaluation.evaluate`` on all 100 images of
  ``../shared/data/handgraph_dev`` (or ``$HAND_MESH_ROS_DATA``), product pipeline at the true and the default
  hand length, and MediaPipe's own world landmarks placed by DGP at the true length for scale. Skipped, with a
  message, when the data is absent (the JSON keeps the last measurement);
- ``speed``: ``benchmarks/bench_vs_mediapipe.py`` (our whole pipeline against the official runtime, frames taken
  in turn). Skipped, with a message, without the real data or the official runtime's venv
  (``python tools/make_official_reference.py`` creates it); ``--no-speed`` skips it too (it takes ~3 minutes
  and wants a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hand_mesh_ros.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FIGURES = REPO / "docs" / "figures.json"
OVERLAY = REPO / "docs" / "images" / "demo_overlay.jpg"
DATA = data_dir()


def render_demo(fig: dict[str, Any]) -> str:
    """A demo run's printed summary (the generated sequence or a video), as the demo prints it."""
    from hand_mesh_ros.tools.demo import DemoSummary, summary_text

    images = "JPEG images" if fig["bag_images"] == "jpeg" else "raw images"
    lines = summary_text(DemoSummary(**fig["summary"]), fig["source"], fig["bag_bytes"], images)
    return "\n".join(["```", *lines, "```"])


def render_accuracy(fig: dict[str, Any]) -> str:
    from hand_mesh_ros.evaluation.evaluate import EvalSummary, format_comparison

    return format_comparison([(run["name"], EvalSummary(**run["summary"])) for run in fig["runs"]])


def render_speed(fig: dict[str, Any]) -> str:
    from hand_mesh_ros.evaluation.speed import format_speed_tables

    return format_speed_tables(fig)


BLOCKS: dict[str, Callable[[dict[str, Any]], str]] = {"demo": render_demo, "video": render_demo,
                                                      "accuracy": render_accuracy, "speed": render_speed}
MARK = re.compile(r"(<!-- figures:(\w+) -->\n)(.*?)(\n<!-- /figures:\2 -->)", re.S)


def rendered_readme(text: str, figures: dict[str, Any]) -> str:
    """``text`` with every figures block replaced by its rendering; KeyError for a block without figures."""
    return MARK.sub(lambda m: m.group(1) + BLOCKS[m.group(2)](figures[m.group(2)]) + m.group(4), text)


def readme_blocks(text: str) -> dict[str, str]:
    """The figures blocks of README text: name -> content."""
    return {m.group(2): m.group(3) for m in MARK.finditer(text)}


def _run(cmd: list[str], what: str) -> None:
    print(f"[update_readme] {what}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    subprocess.run(cmd, check=True, cwd=REPO)
    print(f"[update_readme] {what} done in {time.monotonic() - start:.0f} s", flush=True)


def _demo_figures(out: Path) -> dict[str, Any]:
    from hand_mesh_ros.tools.demo import DemoSummary

    summary = json.loads((out / "summary.json").read_text())
    fields = set(DemoSummary.__dataclass_fields__)
    return {"summary": {k: v for k, v in summary.items() if k in fields},
            **{k: summary[k] for k in ("source", "bag_bytes", "bag_images")}}


def measure_demo(work: Path) -> dict[str, Any]:
    import cv2

    out = work / "demo"
    _run([sys.executable, "-m", "hand_mesh_ros.tools.demo", "--out", str(out)], "demo")
    strip = cv2.imread(str(out / "overlay_strip.png"))
    if strip is None:
        raise RuntimeError(f"the demo wrote no readable {out / 'overlay_strip.png'}")
    cv2.imwrite(str(OVERLAY), strip, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return _demo_figures(out)


def measure_video(work: Path) -> dict[str, Any] | None:
    video = DATA / "mediapipe_reference" / "asl_hand.25fps.mp4"
    if not video.is_file():
        print(f"[update_readme] {video} not present: the video summary keeps its last measurement", flush=True)
        return None
    out = work / "video"
    _run([sys.executable, "-m", "hand_mesh_ros.tools.demo", "--video", str(video), "--out", str(out)], "video demo")
    return _demo_figures(out)


def measure_accuracy(work: Path) -> dict[str, Any] | None:
    data = DATA / "handgraph_dev"
    if not data.is_dir():
        print(f"[update_readme] {data} not present: the accuracy table keeps its last measurement", flush=True)
        return None
    from hand_mesh_ros.evaluation.evaluate import load_handgraph, true_hand_length

    runs = []
    product = work / "product"
    _run([sys.executable, "-m", "hand_mesh_ros.evaluation.evaluate", "--data", str(data), "--pipeline",
          "product", "--out", str(product)], "handgraph_dev, product pipeline")
    for name, summary in json.loads((product / "summary.json").read_text()).items():
        runs.append({"name": name, "summary": summary})
    length = true_hand_length(load_handgraph(data))
    perception = work / "perception"
    _run([sys.executable, "-m", "hand_mesh_ros.evaluation.evaluate", "--data", str(data), "--pipeline",
          "perception", "--hand-length-m", f"{length:.4f}", "--out", str(perception)],
         "handgraph_dev, MediaPipe world landmarks + DGP")
    runs.append({"name": "for scale: MediaPipe's world landmarks at the true length + one DGP solve",
                 "summary": json.loads((perception / "summary.json").read_text())})
    return {"runs": runs}


def measure_speed(work: Path) -> dict[str, Any] | None:
    venv = Path("/tmp/mp-ref-venv")
    if not (DATA / "gesture_photos").is_dir() or not (venv / "bin" / "python").exists():
        print(f"[update_readme] the gesture photos or the official runtime ({venv}) are missing: the speed table "
              "keeps its last measurement", flush=True)
        return None
    out = work / "speed.json"
    _run([sys.executable, "benchmarks/bench_vs_mediapipe.py", "--json", str(out)], "speed against the official runtime")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render", action="store_true", help="only rewrite README.md from docs/figures.json")
    parser.add_argument("--no-speed", action="store_true", help="keep the speed table's last measurement")
    args = parser.parse_args(argv)
    figures = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
    if not args.render:
        with tempfile.TemporaryDirectory(prefix="hand_mesh_ros_figures_") as tmp:
            figures["demo"] = measure_demo(Path(tmp))
            measures = [("video", measure_video), ("accuracy", measure_accuracy)]
            if not args.no_speed:
                measures.append(("speed", measure_speed))
            for name, measure in measures:
                measured = measure(Path(tmp))
                if measured is not None:
                    figures[name] = measured
        FIGURES.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
        print(f"[update_readme] wrote {FIGURES.relative_to(REPO)} and {OVERLAY.relative_to(REPO)}")
    text = README.read_text()
    missing = sorted(set(readme_blocks(text)) - set(figures))
    if missing:
        print(f"[update_readme] no figures yet for {', '.join(missing)}: run without --render", file=sys.stderr)
        return 1
    README.write_text(rendered_readme(text, figures))
    print(f"[update_readme] rewrote {', '.join(sorted(readme_blocks(text)))} in README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
