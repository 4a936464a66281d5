"""The ROS-free core imports with no ROS at all (rclpy and every message package blocked), and reconstructs hands
with neither torch nor TensorRT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from perception_fixtures import converted_models, data_dir  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = ("rclpy", "rosidl", "rcl_", "builtin_interfaces", "cv_bridge", "tf2_ros", "message_filters")

class NoRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top.startswith(BLOCKED) or top.endswith("_msgs") \
                or name.startswith(("hand_mesh_ros.msg", "hand_mesh_ros.ros", "hand_mesh_ros.tools")):
            raise ImportError(f"ROS module {name} imported by the ROS-free core")
        return None

sys.meta_path.insert(0, NoRos())
import hand_mesh_ros
count = 0
for info in pkgutil.walk_packages([sys.argv[1]], "hand_mesh_ros."):
    if info.name.startswith(("hand_mesh_ros.ros", "hand_mesh_ros.msg", "hand_mesh_ros.tools")):
        continue
    importlib.import_module(info.name)
    count += 1
print(count)
"""


def test_core_imports_without_ros() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(REPO / "hand_mesh_ros")],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip().splitlines()[-1]) >= 1


_NO_TORCH = r"""
import importlib.abc, sys
import cv2
import numpy as np

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "rclpy"):
            raise ImportError(f"{name} imported on the CPU path")
        return None

sys.meta_path.insert(0, NoTorch())
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.perception.pipeline import HandPerception
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

image = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
h, w = image.shape[:2]
camera = CameraModel(w, h, np.array([[600.0, 0, w / 2], [0, 600.0, h / 2], [0, 0, 1]]))
rec = HandReconstructor(ReconstructionConfig(backend="auto", device="auto"))
hands = [rec.process_frame(image, camera, 0.1 * k).hands for k in range(3)]
found = HandPerception().process(image, static=True)
print(len(hands[-1]), len(found))
"""


def test_cpu_path_runs_without_torch(converted_models) -> None:  # noqa: F811
    """Importing the core and reconstructing with the default (auto) backend on a machine without TensorRT (as here)
    never imports torch: the networks run in ONNX Runtime, the hand model and its fits in numpy."""
    image = data_dir("mediapipe_reference") / "hands.jpg"
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH, str(image)], cwd=REPO, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reconstructed, perceived = (int(v) for v in proc.stdout.split())
    assert reconstructed == perceived == 2


# Packages of hand_mesh_ros from the bottom up: a package may import only from lower layers.
LAYERS = (
    {"errors"},
    {"paths", "settings", "bagfiles", "geometry", "tracking", "render", "msg", "cli"},
    {"handmodel", "gpu"},
    {"perception"},
    {"reconstruction"},
    {"evaluation", "synthetic", "teleop", "visualization"},
    {"ros"},
    {"tools"},
)


def _package_imports() -> set[tuple[str, str, str]]:
    """(importing package, imported package, file) for every import of hand_mesh_ros, at any depth."""
    import ast

    root = REPO / "hand_mesh_ros"
    edges = set()
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        package = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        here = ["hand_mesh_ros", *rel.parts[:-1]]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "hand_mesh_ros" and len(parts) > 1 and parts[1] != package:
                    edges.add((package, parts[1], str(rel)))
    return edges


def test_package_imports_point_down() -> None:
    layer = {name: k for k, names in enumerate(LAYERS) for name in names}
    edges = _package_imports()
    assert {a for a, _, _ in edges} | {b for _, b, _ in edges} <= set(layer), "a package missing from LAYERS"
    upward = sorted(f"{f}: {a} -> {b}" for a, b, f in edges if layer[b] >= layer[a])
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)
    assert ("perception", "gpu") in {(a, b) for a, b, _ in edges}  # the rule sees relative imports
