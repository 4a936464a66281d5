"""Where the package keeps what it builds on the user's machine (converted weights, engines, assets)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CacheNotWritableError

CACHE_ENV = "HAND_MESH_ROS_CACHE"


def cache_dir(sub: str = "") -> Path:
    """Return (and create) the cache directory, or a sub-directory of it.

    ``$HAND_MESH_ROS_CACHE`` wins; else ``$XDG_CACHE_HOME/hand_mesh_ros``; else ``~/.cache/hand_mesh_ros``.
    Raises CacheNotWritableError when the folder does not exist and cannot be created (an existing folder is
    returned even when it is read-only: reading from it works).
    """
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "hand_mesh_ros"
    path = base / sub if sub else base
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheNotWritableError(
            f"cannot create the cache folder {path}: {exc.strerror or exc}; make {base} writable or set "
            f"{CACHE_ENV} to a writable folder"
        ) from exc
    return path


DATA_ENV = "HAND_MESH_ROS_DATA"


def data_dir(sub: str = "") -> Path:
    """The real data folder (tests, benchmarks, evaluation; never needed by the product), or a sub-folder of it:
    ``$HAND_MESH_ROS_DATA``, else ``../shared/data`` beside the checkout. It may not exist; nothing is created."""
    root = os.environ.get(DATA_ENV)
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / sub if sub else base
