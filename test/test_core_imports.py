"""The ROS-free core imports with no ROS at all: rclpy and every message package are blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = ("rclpy", "rosidl", "rcl_", "builtin_interfaces", "cv_bridge", "tf2_ros", "message_filters")

class NoRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top.startswith(BLOCKED) or top.endswith("_msgs") or name.startswith("hand_mesh_ros.msg") \
                or name.startswith("hand_mesh_ros.ros"):
            raise ImportError(f"ROS module {name} imported by the ROS-free core")
        return None

sys.meta_path.insert(0, NoRos())
import hand_mesh_ros
count = 0
for info in pkgutil.walk_packages([sys.argv[1]], "hand_mesh_ros."):
    if info.name.startswith(("hand_mesh_ros.ros", "hand_mesh_ros.msg")):
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
