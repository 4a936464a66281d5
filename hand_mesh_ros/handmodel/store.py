"""Where the converted open hand models live in the cache (shared by ``prepare`` and ``factory``)."""

from __future__ import annotations

from pathlib import Path

from ..paths import cache_dir
from .constants import check_side

# Bump when the conversion changes so cached models are rebuilt.
CONVERSION_VERSION = "3"
PREPARE_COMMAND = "python -m hand_mesh_ros.handmodel.prepare"


def model_path(side: str) -> Path:
    """Path of the converted open hand model for ``side`` in ``cache_dir("handmodel")``."""
    return cache_dir("handmodel") / f"open_hand_{check_side(side)}.v{CONVERSION_VERSION}.npz"


def is_prepared() -> bool:
    """True when both converted open hand models exist."""
    return all(model_path(s).is_file() for s in ("right", "left"))
