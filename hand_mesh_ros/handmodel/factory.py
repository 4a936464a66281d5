"""Choose the hand model: MANO when the user configured its directory, else the embedded open hand."""

from __future__ import annotations

from pathlib import Path

from .constants import MANO_TIP_VERTICES, check_side
from .data import HandModelData, HandModelError, HandModelNotFoundError
from .mano import load_mano
from .model import HandModel
from .store import PREPARE_COMMAND, model_path


def load_open_hand_data(side: str) -> HandModelData:
    """The converted open hand model: HandModelNotFoundError (a FileNotFoundError) naming the prepare command when
    absent, HandModelError when the cached file is damaged."""
    check_side(side)
    path = model_path(side)
    if not path.is_file():
        raise HandModelNotFoundError(f"open hand model not prepared ({path} missing): run `{PREPARE_COMMAND}`")
    try:
        return HandModelData.load(path)
    except HandModelError as exc:
        raise HandModelError(f"{exc}; the cached open hand model is damaged: delete it or run "
                             f"`{PREPARE_COMMAND} --force`") from exc


def load_hand_model_data(
    side: str, mano_dir: str | Path | None = None, tip_vertices: tuple[int, ...] = MANO_TIP_VERTICES
) -> HandModelData:
    """MANO from ``mano_dir`` when given (non-empty), otherwise the open hand model; HandModelError (a
    ConfigurationError) naming the file and the fix when it cannot be loaded."""
    check_side(side)
    if mano_dir:
        return load_mano(mano_dir, side, tip_vertices=tip_vertices)
    return load_open_hand_data(side)


def load_hand_model(side: str, mano_dir: str | None = None, flat_hand_mean: bool = True) -> HandModel:
    """The hand model for ``side`` ('right' | 'left'): MANO if ``mano_dir`` is set, else the open hand.

    ``HandModel.name`` (and every output's ``model``) says which: 'mano' or 'open_hand'.
    """
    return HandModel(load_hand_model_data(side, mano_dir), flat_hand_mean=flat_hand_mean)
