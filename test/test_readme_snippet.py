"""The README's Python example, run as a newcomer would: copied out of README.md and run on a real photo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PHOTO = "rock_18e20af8.jpg"  # two hands (MediaPipe's own runtime finds both, see the gesture reference)


def readme_python_example() -> str:
    """The first ```python block of README.md after the "Use it in a ROS 2 workspace" heading."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Use it in a ROS 2 workspace")
    match = re.search(r"^```python\n(.*?)^```", text[start:], re.S | re.M)
    assert match is not None, "no python example under 'Use it in a ROS 2 workspace'"
    return match.group(1)


def test_readme_example_reads_a_photo() -> None:
    code = readme_python_example()
    assert code.count('"photo.jpg"') == 1, "the example should name its photo once, as photo.jpg"
    assert "process_image(" in code and ".process(" not in code


def test_readme_example_prints_the_hands_of_a_photo(shared_data: Path) -> None:
    pytest.importorskip("onnxruntime")
    photo = shared_data / "gesture_photos" / PHOTO
    if not photo.is_file():
        pytest.skip(f"{photo} not present")
    code = readme_python_example().replace('"photo.jpg"', repr(str(photo)))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0 and ("ModelNotConvertedError" in proc.stderr or "FileNotFoundError" in proc.stderr):
        pytest.skip(f"models not prepared here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == f"2 hand(s) in {photo}", proc.stdout
    hand = re.compile(r"hand (\d): (left|right), confidence (\d\.\d\d), wrist at x=[+-]\d+\.\d{3} y=[+-]\d+\.\d{3} "
                      r"z=(\d+\.\d{3}) m")
    found = [hand.fullmatch(line) for line in lines[1:]]
    assert len(found) == 2 and all(found), proc.stdout
    assert [m.group(1) for m in found if m] == ["1", "2"]
    assert {m.group(2) for m in found if m} == {"left", "right"}
    assert all(float(m.group(4)) > 0.1 for m in found if m)  # in front of the camera
