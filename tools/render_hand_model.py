#!/usr/bin/env python3
"""Render the default hand model in a few poses, both hands, two views -> docs/images/hand_model.png.

Usage: python tools/render_hand_model.py [--out docs/images/hand_model.png] [--mano-dir DIR]
Needs the prepared open hand model (python -m hand_mesh_ros.handmodel.prepare) unless --mano-dir is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.handmodel import load_hand_model
from hand_mesh_ros.handmodel.limits import pose_from_anatomical
from hand_mesh_ros.render import render_mesh

TILE = 240
BACKGROUND = (236, 238, 242)


def named_poses() -> dict[str, np.ndarray]:
    """Anatomical angles (15, 3) per pose (twist, flex, abduction; MANO joint order 1-15)."""
    flat = np.zeros((15, 3))
    fist = np.zeros((15, 3))
    for f in range(4):  # index, middle, pinky, ring: MCP, PIP, DIP flexion
        fist[3 * f : 3 * f + 3, 1] = (1.4, 1.6, 1.0)
    fist[12:15, 1] = (0.5, 0.7, 0.9)
    fist[12, 2] = 0.5
    point = fist.copy()
    point[0:3, 1] = (0.05, 0.05, 0.0)  # index straight
    pinch = np.zeros((15, 3))
    pinch[0:3, 1] = (0.75, 0.8, 0.5)
    pinch[3:12, 1] = np.tile((0.2, 0.3, 0.2), 3)
    pinch[12:15, 1] = (0.35, 0.35, 0.5)
    pinch[12, 2] = 0.55
    spread = np.zeros((15, 3))
    spread[[0, 6, 9], 2] = (0.25, -0.3, -0.15)
    spread[12, 2] = -0.3
    return {"flat": flat, "fist": fist, "point": point, "pinch": pinch, "spread": spread}


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation world -> camera optical frame (rows: x right, y down, z forward) for a camera at ``eye``."""
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def render_tile(vertices: np.ndarray, faces: np.ndarray, view: np.ndarray) -> np.ndarray:
    """One TILE x TILE image of the mesh seen from direction ``view`` (unit vector from hand to camera)."""
    centre = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    up = np.array([0.0, 0.0, 1.0]) if abs(view[2]) < 0.9 else np.array([-1.0, 0.0, 0.0])
    eye = centre + 0.55 * view
    rot = look_at(eye, centre, up)
    v = (vertices - eye) @ rot.T
    f = 2.1 * TILE
    k = np.array([[f, 0, TILE / 2], [0, f, TILE / 2], [0, 0, 1.0]])
    bg = np.empty((TILE * 2, TILE * 2, 3), np.uint8)
    bg[:] = BACKGROUND
    k2 = k.copy()
    k2[:2] *= 2  # render at 2x and downsample (anti-aliasing)
    img = render_mesh(v, faces, k2, background=bg).rgb
    return cv2.resize(img, (TILE, TILE), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    """Write the grid image."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/hand_model.png"))
    parser.add_argument("--mano-dir", default=None, help="render MANO from this directory instead")
    args = parser.parse_args(argv)
    poses = named_poses()
    rows = []
    for side in ("right", "left"):
        model = load_hand_model(side, args.mano_dir)
        views = [np.array([0.0, 1.0, 0.0]), np.array([0.0, -0.5, 0.87])]  # back of the hand, thumb side
        for view in views:
            tiles = []
            for name, anat in poses.items():
                hand_pose = pose_from_anatomical(model.data.bone_frames, anat, side)
                out = model.outputs(model(np.zeros(3), hand_pose))[0]
                tiles.append(
                    render_tile(out.vertices.astype(np.float64), out.faces, view / np.linalg.norm(view))
                )
                print(f"rendered {side} {name}", file=sys.stderr)
            rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), grid[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
