"""Where the MediaPipe Hands .tflite models come from and how they are fetched and verified.

The four models ship inside the ``mediapipe==0.10.21`` wheel (Apache-2.0). We download the wheel with pip
(no install), read the .tflite members straight from the zip and check their sha256 against the table below.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from ..paths import cache_dir

MEDIAPIPE_VERSION = "0.10.21"
CONVERT_COMMAND = "python -m hand_mesh_ros.perception.convert"


@dataclass(frozen=True)
class ModelSource:
    """One TFLite model: our short name, its path inside the wheel, its sha256 and its input size (px)."""

    name: str
    member: str
    sha256: str
    input_size: int


SOURCES: dict[str, ModelSource] = {
    s.name: s
    for s in (
        ModelSource(
            "palm_detection_full",
            "mediapipe/modules/palm_detection/palm_detection_full.tflite",
            "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
            192,
        ),
        ModelSource(
            "palm_detection_lite",
            "mediapipe/modules/palm_detection/palm_detection_lite.tflite",
            "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
            192,
        ),
        ModelSource(
            "hand_landmark_full",
            "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
            "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
            224,
        ),
        ModelSource(
            "hand_landmark_lite",
            "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite",
            "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
            224,
        ),
    )
}


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[hand_mesh_ros.perception] {msg}", file=sys.stderr, flush=True)


def find_wheel(download_dir: Path) -> Path | None:
    """Return a cached mediapipe wheel of the pinned version, if any."""
    hits = sorted(download_dir.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    return hits[0] if hits else None


def download_wheel(download_dir: Path | None = None) -> Path:
    """Download the pinned mediapipe wheel (no dependencies, not installed) with pip; return its path."""
    download_dir = download_dir or cache_dir("downloads")
    found = find_wheel(download_dir)
    if found is not None:
        return found
    log(f"downloading mediapipe=={MEDIAPIPE_VERSION} wheel into {download_dir} (about 35 MB)")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"mediapipe=={MEDIAPIPE_VERSION}",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(download_dir),
    ]
    result = subprocess.run(cmd, check=False)
    found = find_wheel(download_dir)
    if result.returncode != 0 or found is None:
        raise ConfigurationError(
            f"pip could not download mediapipe=={MEDIAPIPE_VERSION} (no network or no package index?): run "
            f"`{' '.join(cmd)}` by hand, or pass --wheel PATH to the converter"
        )
    return found


def extract_tflite(wheel: Path, names: list[str], out_dir: Path) -> dict[str, Path]:
    """Copy the named models out of ``wheel`` into ``out_dir``, verifying each sha256."""
    paths: dict[str, Path] = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in names:
            src = SOURCES[name]
            dst = out_dir / f"{name}.tflite"
            if not (dst.exists() and sha256_of(dst) == src.sha256):
                try:
                    data = zf.read(src.member)
                except KeyError as exc:
                    raise ValueError(
                        f"{wheel} has no member {src.member}: use the mediapipe=={MEDIAPIPE_VERSION} "
                        "wheel (newer wheels no longer carry the Hands models)"
                    ) from exc
                if hashlib.sha256(data).hexdigest() != src.sha256:
                    raise ValueError(
                        f"{src.member} in {wheel} has an unexpected sha256; the wheel is corrupt or "
                        f"not mediapipe=={MEDIAPIPE_VERSION}"
                    )
                dst.write_bytes(data)
                log(f"extracted {src.member} -> {dst}")
            paths[name] = dst
    return paths
