"""Cache a synthetic sequence as one compressed .npz (frames + truth) in ``cache_dir("synthetic")``.

The file name holds every generation parameter and :data:`VERSION`, so a change of either makes a new file.
Masks are bit-packed. The .npz is a build artefact: never commit it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..geometry.camera import CameraModel
from ..paths import cache_dir as default_cache_dir
from .sequence import VERSION, make_sequence
from .types import HandTruth, SyntheticFrame, SyntheticSequence

SIDES = ("right", "left")


def cache_path(cache_dir: Path, num_frames: int, width: int, height: int, seed: int,
               motion: str = "default", side: str = "right") -> Path:
    """The .npz path for these parameters (and the current :data:`VERSION`)."""
    name = ("" if motion == "default" else f"_{motion}") + ("_left" if side == "left" else "")
    return Path(cache_dir) / f"synthetic_v{VERSION}{name}_n{num_frames}_{width}x{height}_s{seed}.npz"


def save_sequence(seq: SyntheticSequence, path: Path) -> None:
    """Write ``seq`` to ``path`` (.npz, compressed). Faces are stored once per side."""
    n = len(seq)
    nv = {s: 0 for s in SIDES}
    faces: dict[str, np.ndarray] = {}
    for f in seq:
        for h in f.hands:
            nv[h.side] = len(h.vertices)
            faces[h.side] = h.faces
    arrays: dict[str, np.ndarray] = {
        "version": np.array(seq.version),
        "seed": np.array(seq.seed),
        "fps": np.array(seq.fps),
        "k": np.asarray(seq.camera.k),
        "size": np.array([seq.camera.width, seq.camera.height]),
        "rgb": np.stack([f.rgb for f in seq]),
        "mask_bits": np.packbits(np.stack([f.hand_mask for f in seq]), axis=-1),
        "stamps": np.array([f.stamp_s for f in seq]),
        "motion": np.array(seq.motion),
    }
    for s in SIDES:
        visible = np.array([f.hand(s) is not None for f in seq])
        joints = np.zeros((n, 21, 3))
        verts = np.zeros((n, nv[s], 3), np.float32)
        rots = np.tile(np.eye(3), (n, 1, 1))
        for i, f in enumerate(seq):
            h = f.hand(s)
            if h is not None:
                joints[i], verts[i], rots[i] = h.joints, h.vertices, h.wrist_rotation
        arrays[f"{s}_visible"] = visible
        arrays[f"{s}_joints"] = joints
        arrays[f"{s}_vertices"] = verts
        arrays[f"{s}_wrist_rotation"] = rots
        arrays[f"{s}_faces"] = faces.get(s, np.zeros((0, 3), np.int32))
        arrays[f"{s}_hand_length"] = np.array(next((h.hand_length_m for f in seq for h in f.hands if h.side == s),
                                                   np.nan))
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def load_sequence(path: Path) -> SyntheticSequence:
    """Read a sequence written by :func:`save_sequence`. Raises ValueError for a file of another version."""
    with np.load(Path(path)) as z:
        version = int(z["version"])
        if version != VERSION:
            raise ValueError(f"{path} holds synthetic version {version}, this code makes version {VERSION}")
        width, height = (int(v) for v in z["size"])
        camera = CameraModel(width, height, z["k"])
        rgb = z["rgb"]
        masks = np.unpackbits(z["mask_bits"], axis=-1, count=width).astype(bool)
        stamps = z["stamps"]
        per_side = {s: (z[f"{s}_visible"], z[f"{s}_joints"], z[f"{s}_vertices"], z[f"{s}_faces"],
                        float(z[f"{s}_hand_length"]), z[f"{s}_wrist_rotation"]) for s in SIDES}
        seed, fps = int(z["seed"]), float(z["fps"])
        motion = str(z["motion"]) if "motion" in z else "default"
    frames = []
    for i in range(len(rgb)):
        hands = []
        for s in SIDES:
            visible, joints, verts, faces, length, rots = per_side[s]
            if visible[i]:
                j = joints[i]
                p = j @ camera.k.T
                hands.append(HandTruth(s, j, p[:, :2] / p[:, 2:], verts[i], faces, length, rots[i]))
        frames.append(SyntheticFrame(i, float(stamps[i]), rgb[i], masks[i], tuple(hands)))
    return SyntheticSequence(tuple(frames), camera, fps, seed, version, motion)


def load_or_make_sequence(
    cache_dir: Path | str | None = None, num_frames: int = 60, width: int = 640, height: int = 480, seed: int = 0,
    motion: str = "default", side: str = "right",
) -> SyntheticSequence:
    """The cached sequence for these parameters, rendering and caching it first when absent or unreadable
    (``motion``, ``side``: see :func:`~.sequence.make_sequence`).

    ``cache_dir`` None: ``hand_mesh_ros.paths.cache_dir("synthetic")``. Progress goes to stderr.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir("synthetic")
    folder.mkdir(parents=True, exist_ok=True)
    path = cache_path(folder, num_frames, width, height, seed, motion, side)
    if path.is_file():
        try:
            return load_sequence(path)
        except (OSError, ValueError, KeyError) as exc:
            print(f"synthetic: ignoring unreadable cache {path} ({exc})", file=sys.stderr)
    print(f"synthetic: rendering {num_frames} frames {width}x{height} (seed {seed}, motion {motion}, {side} hand) "
          f"-> {path}", file=sys.stderr)
    t0 = time.perf_counter()
    seq = make_sequence(num_frames, width, height, seed, progress=True, motion=motion, side=side)
    save_sequence(seq, path)
    print(f"synthetic: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return seq
