"""Load user-supplied MANO pickles (``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl``) without chumpy or scipy.

The files are licensed per user: never ship or download them; point ``mano_dir`` at the user's copy.
A pickle can run arbitrary code, so the unpickler below is a security boundary: it resolves only the few
globals these files contain (numpy array reconstruction, chumpy ``Ch`` and scipy ``csc_matrix``, both
rebuilt here as plain numpy arrays) and refuses everything else with :class:`UnsafePickleError`.
The converted arrays are cached as ``.npz`` in ``cache_dir("mano")`` (keyed by the file's sha256).
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CacheNotWritableError
from ..paths import cache_dir
from .constants import (
    JOINT_TO_KEYPOINT,
    KEYPOINT_CHILD,
    MANO_PARENTS,
    MANO_TIP_VERTICES,
    NUM_JOINTS,
    NUM_KEYPOINTS,
    TIP_KEYPOINTS,
    check_side,
)
from .data import HandModelData, HandModelError, HandModelNotFoundError, rest_frame

MANO_FILES = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}
EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {
    "v_template": (778, 3),
    "f": (1538, 3),
    "J_regressor": (16, 778),
    "weights": (778, 16),
    "posedirs": (778, 3, 135),
    "shapedirs": (778, 3, 10),
    "kintree_table": (2, 16),
    "hands_components": (45, 45),
    "hands_mean": (45,),
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle refers to something outside the small set a MANO file may contain."""


class _ChStub:
    """Stands in for ``chumpy.ch.Ch``: keeps the pickled state, converted to an array afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_array(self) -> np.ndarray:
        state = self.state
        if isinstance(state, dict):
            for key in ("x", "_x", "r"):
                if key in state:
                    return _to_array(state[key])
        raise ValueError(
            f"cannot rebuild a chumpy object from its pickled state (keys: "
            f"{sorted(state) if isinstance(state, dict) else type(state).__name__})"
        )


class _CscStub:
    """Stands in for ``scipy.sparse.csc_matrix``: rebuilt as a dense array from data / indices / indptr."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_array(self) -> np.ndarray:
        st = self.state
        if not isinstance(st, dict) or not {"data", "indices", "indptr"} <= set(st):
            raise ValueError("pickled csc_matrix lacks data/indices/indptr")
        shape = st.get("_shape", st.get("shape"))
        if shape is None or len(shape) != 2:
            raise ValueError("pickled csc_matrix lacks its shape")
        rows, cols = int(shape[0]), int(shape[1])
        data, indices, indptr = (np.asarray(st[k]) for k in ("data", "indices", "indptr"))
        if (
            indptr.shape != (cols + 1,)
            or indices.shape != data.shape
            or (indices.size and indices.max() >= rows)
        ):
            raise ValueError("pickled csc_matrix is inconsistent")
        dense = np.zeros((rows, cols), dtype=np.float64)
        col_of = np.repeat(np.arange(cols), np.diff(indptr))
        np.add.at(dense, (indices, col_of), data)
        return dense


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` restricted to the stub classes (Python 2 protocol 0/1 pickles)."""
    if cls not in (_ChStub, _CscStub) or base is not object:
        raise UnsafePickleError(f"copyreg._reconstructor called with {cls!r}, {base!r}: refused")
    return cls()


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as Python 3 writes bytes into protocol <= 2 pickles; latin-1 text only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode called with {type(text).__name__}, {encoding!r}: refused")
    return text.encode("latin1")


class RestrictedMANOUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals found in MANO files; anything else raises."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("chumpy.ch", "chumpy") and name == "Ch":
            return _ChStub
        if module in ("scipy.sparse.csc", "scipy.sparse._csc", "scipy.sparse") and name == "csc_matrix":
            return _CscStub
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in (
            "_reconstruct",
            "scalar",
        ):
            core = getattr(np, "_core", None) or np.core  # numpy 2 keeps it in numpy._core
            return getattr(core.multiarray, name)
        if module == "numpy" and name in ("dtype", "ndarray"):
            return getattr(np, name)
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        if module in ("copyreg", "copy_reg") and name == "_reconstructor":
            return _reconstructor
        if module in ("builtins", "__builtin__") and name in ("object", "set", "frozenset"):
            return {"object": object, "set": set, "frozenset": frozenset}[name]  # chumpy state holds sets
        raise UnsafePickleError(
            f"refusing to load global {module}.{name}: a MANO file only contains numpy arrays, chumpy Ch "
            "objects and scipy csc_matrix; this file is not a genuine MANO model or has been tampered with"
        )


def _to_array(value: Any) -> np.ndarray:
    if isinstance(value, (_ChStub, _CscStub)):
        return value.to_array()
    return np.asarray(value)


def read_mano_pickle(path: str | Path) -> dict[str, np.ndarray]:
    """Unpickle a MANO file safely and return its arrays (chumpy / sparse values made dense numpy)."""
    path = Path(path)
    with path.open("rb") as fh:
        try:
            raw = RestrictedMANOUnpickler(fh, encoding="latin1").load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as exc:
            raise ValueError(f"{path}: not a readable MANO pickle ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a dict at the top level, got {type(raw).__name__}")
    out: dict[str, np.ndarray] = {}
    for key in EXPECTED_SHAPES:
        if key not in raw:
            raise ValueError(f"{path}: missing key {key!r} (has {sorted(map(str, raw))})")
        arr = _to_array(raw[key])
        if arr.shape != EXPECTED_SHAPES[key]:
            raise ValueError(f"{path}: {key} has shape {arr.shape}, expected {EXPECTED_SHAPES[key]}")
        out[key] = arr
    return out


def _bone_frames(joints: np.ndarray, keypoints: np.ndarray, side: str) -> np.ndarray:
    """Rest frames: x towards the child keypoint, z = back-of-hand normal of the palm (all joints)."""
    finger = keypoints[9] - keypoints[0]
    across = keypoints[5] - keypoints[17]  # pinky MCP -> index MCP (towards the thumb)
    back = np.cross(finger, across) if side == "right" else np.cross(across, finger)
    frames = np.zeros((NUM_JOINTS, 3, 3))
    for j in range(NUM_JOINTS):
        child = KEYPOINT_CHILD[JOINT_TO_KEYPOINT[j]]
        frames[j] = rest_frame(keypoints[child] - joints[j], back)
    return frames


def mano_to_model_data(
    arrays: dict[str, np.ndarray],
    side: str,
    tip_vertices: tuple[int, ...] = MANO_TIP_VERTICES,
    fix_left_shapedirs: bool = True,
) -> HandModelData:
    """Convert MANO arrays to :class:`HandModelData`.

    tip_vertices: fingertip vertex ids (thumb, index, middle, ring, pinky); default 744, 320, 443, 554, 671.
    fix_left_shapedirs: for the left hand negate the x component of shapedirs (the published left file's
    shapedirs equal the right file's although its template is mirrored in x; smplx issue #48).
    """
    check_side(side)
    if len(tip_vertices) != 5 or any(not 0 <= int(t) < 778 for t in tip_vertices):
        raise ValueError(f"tip_vertices must be 5 vertex ids in [0, 778), got {tip_vertices}")
    parents = arrays["kintree_table"][0].astype(np.int64)
    parents[0] = -1
    if not np.array_equal(parents, MANO_PARENTS):
        raise ValueError(
            f"kintree_table parents {parents.tolist()} differ from MANO's {MANO_PARENTS.tolist()}"
        )
    v = arrays["v_template"].astype(np.float64)
    shapedirs = arrays["shapedirs"].astype(np.float64).copy()
    if side == "left" and fix_left_shapedirs:
        shapedirs[:, 0, :] *= -1.0
    j_reg = arrays["J_regressor"].astype(np.float64)
    kp_reg = np.zeros((NUM_KEYPOINTS, len(v)))
    for j in range(NUM_JOINTS):
        kp_reg[JOINT_TO_KEYPOINT[j]] = j_reg[j]
    for k, vid in zip(TIP_KEYPOINTS, tip_vertices, strict=True):
        kp_reg[k, int(vid)] = 1.0
    joints = j_reg @ v
    return HandModelData(
        name="mano",
        side=side,
        v_template=v,
        faces=arrays["f"].astype(np.int32),
        shapedirs=shapedirs,
        posedirs=arrays["posedirs"].astype(np.float64),
        j_regressor=j_reg,
        weights=arrays["weights"].astype(np.float64),
        keypoint_regressor=kp_reg,
        hands_components=arrays["hands_components"].astype(np.float64),
        hands_mean=arrays["hands_mean"].astype(np.float64),
        bone_frames=_bone_frames(joints, kp_reg @ v, side),
        tip_vertices=np.asarray(tip_vertices, dtype=np.int64),
    )


MANO_ADVICE = ("mano_dir must be the folder with the unmodified MANO_RIGHT.pkl and MANO_LEFT.pkl of the MANO "
               "download (its models/ folder); leave mano_dir empty to use the open hand model")


def _missing_mano_message(folder: Path, file_name: str) -> str:
    if not folder.exists():
        return f"mano_dir {folder} does not exist; {MANO_ADVICE}"
    if not folder.is_dir():
        return f"mano_dir {folder} is not a folder; {MANO_ADVICE}"
    message = f"MANO model not found: {folder / file_name} (mano_dir is set, so {file_name} must be there)"
    if (folder / "models" / file_name).is_file():
        return f"{message}; it is in {folder / 'models'}: set mano_dir to that folder"
    found = sorted(p.name for p in folder.glob("*.pkl"))
    if found:
        message += f"; the folder has {', '.join(found[:5])}{' ...' if len(found) > 5 else ''}"
    return f"{message}; {MANO_ADVICE}"


def _mano_cache_file(name: str) -> Path | None:
    """Where the converted arrays are cached, or None when the cache folder cannot be created (then the pickle is
    converted on every load: the cache only saves time)."""
    try:
        return cache_dir("mano") / name
    except CacheNotWritableError:
        return None


def load_mano(
    mano_dir: str | Path,
    side: str,
    tip_vertices: tuple[int, ...] = MANO_TIP_VERTICES,
    fix_left_shapedirs: bool = True,
) -> HandModelData:
    """Load ``MANO_{SIDE}.pkl`` from ``mano_dir`` (cached as .npz after the first load).

    Left hand: the published ``MANO_LEFT.pkl`` has the same ``shapedirs`` as ``MANO_RIGHT.pkl`` although its
    template is mirrored in x, so the x component is negated (``fix_left_shapedirs``). When the right file is
    in the same directory and the left file's x component is already the negated right one (a corrected
    copy), it is left alone.

    Raises HandModelNotFoundError (a FileNotFoundError) when ``mano_dir`` or the file does not exist and
    HandModelError when the file cannot be read or is not a MANO model (both ConfigurationErrors naming the file
    and what to do). The .npz cache only saves time: a damaged cached file is rebuilt from the pickle, and a cache
    that cannot be written is not used.
    """
    check_side(side)
    folder = Path(mano_dir)
    path = folder / MANO_FILES[side]
    if not path.is_file():
        raise HandModelNotFoundError(_missing_mano_message(folder, MANO_FILES[side]))
    right_path = folder / MANO_FILES["right"]
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        if side == "left" and fix_left_shapedirs and right_path.is_file():  # the fix depends on the right file
            digest += hashlib.sha256(right_path.read_bytes()).hexdigest()[:8]
    except OSError as exc:
        raise HandModelError(f"cannot read MANO model {path}: {exc.strerror or exc}; make it readable by "
                             "this user") from exc
    tips = "-".join(str(int(t)) for t in tip_vertices)
    cached = _mano_cache_file(f"mano_{side}_{digest}_{tips}_{int(fix_left_shapedirs)}.npz")
    if cached is not None and cached.is_file():
        try:
            return HandModelData.load(cached)
        except HandModelError:  # damaged cache entry: converted again from the pickle below
            with contextlib.suppress(OSError):
                cached.unlink()
    try:
        arrays = read_mano_pickle(path)
    except Exception as exc:  # unpickling damaged bytes raises many types
        detail = str(exc).removeprefix(f"{path}: ")
        kind = "" if type(exc) is ValueError else f"{type(exc).__name__}: "
        raise HandModelError(f"cannot read MANO model {path}: {kind}{detail}; {MANO_ADVICE}") from exc
    fix = fix_left_shapedirs and side == "left"
    if fix and right_path.is_file():
        right_x = load_mano(mano_dir, "right", tip_vertices).shapedirs[:, 0]
        left_x = arrays["shapedirs"][:, 0]
        fix = not np.allclose(left_x, -right_x, atol=1e-9) or np.allclose(left_x, 0.0)
    try:
        data = mano_to_model_data(arrays, side, tip_vertices, fix)
    except ValueError as exc:
        raise HandModelError(f"{path} is not a usable MANO model: {exc}; {MANO_ADVICE}") from exc
    if cached is not None:
        with contextlib.suppress(OSError):  # a read-only cache: converted again next time
            data.save(cached)
    return data
