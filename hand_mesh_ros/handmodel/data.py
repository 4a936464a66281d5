"""The arrays that define a hand model (MANO or the open hand), independent of any framework.

All positions in metres, in the model's canonical frame (MANO's: for a right hand the flat fingers point
along -x, the thumb side is +z and the back of the hand faces +y; the left hand is the mirror image in x).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import ConfigurationError
from .constants import NUM_JOINTS, NUM_KEYPOINTS, check_side

MODEL_NAMES = ("mano", "open_hand")


class HandModelError(ConfigurationError):
    """A hand model file (the user's MANO pickle or a converted model in the cache) cannot be used; the message
    names the file and what to do."""


class HandModelNotFoundError(HandModelError, FileNotFoundError):
    """A hand model file, or the ``mano_dir`` folder, does not exist."""


@dataclass(frozen=True)
class HandModelData:
    """A skinned hand model with MANO's kinematic tree (16 joints), shape space and 21 keypoints.

    Attributes (V vertices, F faces, S shape directions, all float64 unless noted):
        name: 'mano' or 'open_hand'; side: 'right' or 'left'.
        v_template: (V, 3) rest (zero pose, zero shape) vertices, metres.
        faces: (F, 3) int32 triangle vertex ids, counter-clockwise seen from outside.
        shapedirs: (V, 3, S) vertex offsets per unit of each shape parameter, metres.
        posedirs: (V, 3, 135) pose blend shapes (MANO) or (V, 3, 0) when the model has none.
        j_regressor: (16, V) dense joint regressor (rest joints = j_regressor @ shaped vertices).
        weights: (V, 16) linear-blend-skinning weights (rows sum to 1).
        keypoint_regressor: (21, V): rest keypoints = keypoint_regressor @ shaped vertices; keypoint k is then
            carried rigidly by MANO joint ``constants.KEYPOINT_BONE[k]``.
        hands_components: (45, 45) PCA basis of the hand pose (rows = components); identity for the open hand.
        hands_mean: (45,) mean hand pose (axis-angle); zeros for the open hand.
        bone_frames: (16, 3, 3) rest anatomical frame of each joint, columns (x: along the bone towards the
            child, y: z cross x, z: out of the back of the hand); used for joint limits and output frames.
        tip_vertices: (5,) int64 fingertip vertex ids (thumb, index, middle, ring, pinky) or -1 where the tip
            keypoint is not a single vertex.
    """

    name: str
    side: str
    v_template: np.ndarray
    faces: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    j_regressor: np.ndarray
    weights: np.ndarray
    keypoint_regressor: np.ndarray
    hands_components: np.ndarray
    hands_mean: np.ndarray
    bone_frames: np.ndarray
    tip_vertices: np.ndarray

    def __post_init__(self) -> None:
        if self.name not in MODEL_NAMES:
            raise ValueError(f"model name must be one of {MODEL_NAMES}, got {self.name!r}")
        check_side(self.side)
        v = self.v_template.shape[0]
        expected = {
            "v_template": (v, 3),
            "shapedirs": (v, 3, None),
            "posedirs": (v, 3, None),
            "j_regressor": (NUM_JOINTS, v),
            "weights": (v, NUM_JOINTS),
            "keypoint_regressor": (NUM_KEYPOINTS, v),
            "hands_components": (45, 45),
            "hands_mean": (45,),
            "bone_frames": (NUM_JOINTS, 3, 3),
            "tip_vertices": (5,),
            "faces": (None, 3),
        }
        for key, shape in expected.items():
            arr = getattr(self, key)
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"HandModelData.{key} must be a numpy array, got {type(arr).__name__}")
            if arr.ndim != len(shape) or any(
                s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)
            ):
                raise ValueError(f"HandModelData.{key} has shape {arr.shape}, expected {shape} (None = any)")
        if self.posedirs.shape[2] not in (0, 135):
            raise ValueError(f"posedirs must have 0 or 135 pose blend shapes, got {self.posedirs.shape[2]}")
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= v):
            raise ValueError("faces reference vertices outside v_template")

    @property
    def num_shape(self) -> int:
        """Number of shape parameters."""
        return int(self.shapedirs.shape[2])

    def save(self, path: str | Path) -> None:
        """Write all arrays to an uncompressed ``.npz`` (name and side stored as 0-d string arrays)."""
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        try:
            np.savez(tmp, **arrays)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> HandModelData:
        """Read a model written by :meth:`save`; HandModelNotFoundError when it does not exist, HandModelError
        when it is damaged (truncated, not an .npz, arrays missing or of the wrong shape)."""
        path = Path(path)
        if not path.is_file():
            raise HandModelNotFoundError(f"hand model file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as npz:
                values = {f.name: npz[f.name] for f in fields(cls)}
            values["name"] = str(values["name"])
            values["side"] = str(values["side"])
            values["faces"] = values["faces"].astype(np.int32)
            values["tip_vertices"] = values["tip_vertices"].astype(np.int64)
            return cls(**values)
        except Exception as exc:  # zipfile, numpy and the shape checks raise many types for a damaged file
            raise HandModelError(f"cannot read hand model file {path}: {type(exc).__name__}: {exc}") from exc


def affine_regressor(vertices: np.ndarray, point: np.ndarray, k: int = 16) -> np.ndarray:
    """Weights w over ``vertices`` (V, 3) with sum(w) = 1 and w @ vertices = point, using the k nearest.

    The minimum-norm affine combination: a point defined this way follows any affine deformation of its
    neighbourhood exactly (used to attach joints and keypoints of the open model to its mesh).
    """
    d = np.linalg.norm(vertices - point, axis=1)
    idx = np.argsort(d)[:k]
    a = np.vstack([vertices[idx].T, np.ones((1, len(idx)))])  # (4, k)
    b = np.append(point, 1.0)
    w_local = a.T @ np.linalg.solve(a @ a.T + 1e-12 * np.eye(4), b)
    w = np.zeros(len(vertices))
    w[idx] = w_local
    return w


def rest_frame(bone_dir: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Rotation matrix with columns (x = bone_dir, y = z cross x, z = back orthogonalised against x)."""
    x = bone_dir / np.linalg.norm(bone_dir)
    z = back - x * float(back @ x)
    z = z / np.linalg.norm(z)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


def mirror_model_data(data: HandModelData, side: str) -> HandModelData:
    """The mirror image (x -> -x) of a model, labelled ``side``: vertices, shape directions and frames
    mirrored, triangle winding reversed, regressors and weights unchanged. Pose blend shapes are dropped
    (they do not mirror by a simple rule), so this is meant for models without them."""
    if data.posedirs.shape[2]:
        raise ValueError("mirror_model_data does not support models with pose blend shapes")
    m = np.diag([-1.0, 1.0, 1.0])
    frames = m @ data.bone_frames @ np.diag([1.0, -1.0, 1.0])  # keep y = z cross x (right-handed)
    return HandModelData(
        name=data.name,
        side=side,
        v_template=data.v_template @ m,
        faces=data.faces[:, ::-1].copy(),
        shapedirs=np.einsum("ij,vjs->vis", m, data.shapedirs),
        posedirs=data.posedirs,
        j_regressor=data.j_regressor,
        weights=data.weights,
        keypoint_regressor=data.keypoint_regressor,
        hands_components=data.hands_components,
        hands_mean=data.hands_mean,
        bone_frames=frames,
        tip_vertices=data.tip_vertices,
    )
