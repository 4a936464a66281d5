"""The requirement files agree: the ROS-workspace set pins what the runtime set pins, and leaves numpy, OpenCV
and PyYAML to the distribution (pip's builds beside a distro's cv_bridge break it)."""

from __future__ import annotations

from pathlib import Path

REQ = Path(__file__).resolve().parents[1] / "requirements"


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REQ / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, version = line.split("==")
            pins[package.lower()] = version
    return pins


def test_ros_workspace_pins_match_the_runtime_and_leave_the_distro_packages_alone() -> None:
    runtime, workspace = _pins("runtime.txt"), _pins("ros-workspace.txt")
    assert workspace and all(runtime.get(p) == v for p, v in workspace.items()), (workspace, runtime)
    distro = {"numpy", "opencv-python", "opencv-python-headless", "pyyaml"}
    assert not distro & set(workspace)
    assert set(runtime) - set(workspace) == distro & set(runtime)  # nothing else left out
