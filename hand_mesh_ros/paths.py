"""Where the package keeps what it builds on the user's machine (converted weights, engines, assets)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "HAND_MESH_ROS_CACHE"


def cache_dir(sub: str = "") -> Path:
    """Return (and create) the cache directory, or a sub-directory of it.

    ``$HAND_MESH_ROS_CACHE`` wins; else ``$XDG_CACHE_HOME/hand_mesh_ros``; else ``~/.cache/hand_mesh_ros``.
    """
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "hand_mesh_ros"
    path = base / sub if sub else base
    path.mkdir(parents=True, exist_ok=True)
    return path
