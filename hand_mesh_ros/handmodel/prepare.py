"""Fetch the open hand asset from npm and convert it: ``python -m hand_mesh_ros.handmodel.prepare``.

Idempotent: does nothing when the converted models are present and current. Writes into
``cache_dir("handmodel")``: ``open_hand_right.npz``, ``open_hand_left.npz`` and the asset's ``LICENSE.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from ..paths import cache_dir
from .data import mirror_model_data
from .open_hand import convert_glb, log
from .store import is_prepared, model_path

PACKAGE = "@webxr-input-profiles/assets"
VERSION = "1.0.20"
TARBALL_URL = "https://registry.npmjs.org/@webxr-input-profiles/assets/-/assets-1.0.20.tgz"
TARBALL_SHA256 = "30df2a2268220fc0d0e034bed1550aabdd7a2500573c5216f64fc70d59c3d91e"
MEMBERS = {
    "package/dist/profiles/generic-hand/right.glb": "right.glb",
    "package/LICENSE.md": "LICENSE.md",
}


def _download(dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm:
        log(f"npm pack {PACKAGE}@{VERSION} ...")
        result = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"],
            cwd=dest,
            capture_output=True,
            text=True,
            timeout=600,
        )
        tgz = sorted(dest.glob("*.tgz"))
        if result.returncode == 0 and tgz:
            return tgz[0]
        log(f"npm pack failed ({result.stderr.strip()[:200]}); falling back to a direct download")
    target = dest / "assets.tgz"
    log(f"downloading {TARBALL_URL}")
    with urllib.request.urlopen(TARBALL_URL, timeout=120) as resp, target.open("wb") as out:
        total = int(resp.headers.get("Content-Length") or 0)
        done = 0
        last = -10
        while chunk := resp.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            pct = int(100 * done / total) if total else 0
            if total and pct >= last + 10:
                log(f"  {pct}% of {total / 1e6:.0f} MB")
                last = pct
    return target


def _extract(tgz: Path, dest: Path) -> None:
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        raise RuntimeError(f"{tgz.name}: sha256 {digest} does not match the recorded {TARBALL_SHA256}")
    log("sha256 verified; extracting the generic-hand glb files and LICENSE.md")
    with tarfile.open(tgz, "r:gz") as tar:
        for member, name in MEMBERS.items():
            fobj = tar.extractfile(member)
            if fobj is None:
                raise RuntimeError(f"{tgz.name} has no {member}")
            (dest / name).write_bytes(io.BytesIO(fobj.read()).getvalue())


def prepare(force: bool = False, tarball: Path | None = None) -> list[Path]:
    """Download (or use ``tarball``), verify, extract and convert; returns the model paths."""
    if is_prepared() and not force:
        log(f"open hand models already prepared in {cache_dir('handmodel')}")
        return [model_path(s) for s in ("right", "left")]
    with tempfile.TemporaryDirectory(prefix="hand_mesh_ros_") as tmp:
        work = Path(tmp)
        tgz = tarball if tarball is not None else _download(work)
        _extract(tgz, work)
        shutil.copyfile(work / "LICENSE.md", cache_dir("handmodel") / "open_hand_LICENSE.md")
        log("[1/2] converting right.glb")
        right = convert_glb(work / "right.glb", "right")
        right.save(model_path("right"))
        # The asset's left mesh is the exact mirror of its right mesh, but its skeleton differs by a few mm;
        # mirroring the converted right model keeps both sides identical up to the mirror.
        log("[2/2] mirroring it into the left hand")
        left = mirror_model_data(right, "left")
        left.save(model_path("left"))
        paths = [model_path("right"), model_path("left")]
    log(f"done: {', '.join(str(p) for p in paths)}")
    return paths


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m hand_mesh_ros.handmodel.prepare",
        description="Fetch and convert the open hand model (MIT, WebXR generic hand)."
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the converted models exist")
    parser.add_argument("--tarball", type=Path, default=None, help="use this local assets-1.0.20.tgz")
    args = parser.parse_args(argv)
    try:
        prepare(force=args.force, tarball=args.tarball)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
