"""The hand model's forward pass (numpy, float64): shape and pose blend shapes, skinning, keypoints.

Conventions: metres; the model's canonical frame (see ``data.HandModelData``); pose = 16 axis-angle
rotations (MANO order), joint 0 being the global orientation about the wrist joint, joints 1-15 local to their
parent; ``transl`` is added after rotation (MANO's convention: wrist position = rest wrist joint + transl).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .constants import KEYPOINT_BONE, KEYPOINT_NAMES, NUM_JOINTS
from .data import HandModelData
from .kinematics import INTERNAL_TO_MP, MP_TO_INTERNAL, Rest, forward
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle


class HandBatch(NamedTuple):
    """Batched forward-pass result (B hands, float64). Positions in metres in the caller's frame."""

    vertices: np.ndarray | None  # (B, V, 3), None when not requested
    keypoints: np.ndarray  # (B, 21, 3) MediaPipe order
    joint_positions: np.ndarray  # (B, 16, 3) MANO joint centres
    joint_rotations: np.ndarray  # (B, 16, 3, 3) global rotation of each MANO joint
    pose: np.ndarray  # (B, 16, 3) axis-angle (flat-hand convention: mean already added)
    betas: np.ndarray  # (B, S)
    transl: np.ndarray  # (B, 3)


@dataclass(frozen=True)
class HandModelOutput:
    """One posed hand, numpy, metres, in the frame of the pose (the camera optical frame after a fit).

    joint_rotations[k] is the global rotation of the MANO joint carrying keypoint k (tips: the last joint).
    keypoint_frames[k] is the TF frame of keypoint k, named ``frame_names[k]``: x along the bone towards the
    child keypoint (tips: continuing the last bone), z out of the back of the hand (nail side), y = z cross x.
    Both hands use this rule, so the frames of a left hand are the mirror image of a right hand's except that
    y stays z cross x (right-handed): y points to the thumb side on a right hand, to the pinky side on a left.
    wrist_position / wrist_axis_angle: MANO's root joint position and global orientation (axis-angle, rad).
    """

    model: str
    side: str
    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (F, 3) int32
    joints: np.ndarray  # (21, 3) float32, MediaPipe order
    joint_rotations: np.ndarray  # (21, 3, 3) float32
    keypoint_frames: np.ndarray  # (21, 3, 3) float32, columns = frame axes
    frame_names: tuple[str, ...]
    wrist_position: np.ndarray  # (3,)
    wrist_rotation: np.ndarray  # (3, 3)
    wrist_axis_angle: np.ndarray  # (3,)
    pose: np.ndarray  # (16, 3) axis-angle, flat-hand convention
    betas: np.ndarray  # (S,)


class HandModel:
    """A :class:`HandModelData` with a batched forward pass.

    Args:
        data: the model arrays.
        flat_hand_mean: if False, ``hand_pose`` given to :meth:`forward` is relative to MANO's mean hand
            (``hands_mean`` is added); if True (default) zero pose is the flat hand.
    """

    def __init__(self, data: HandModelData, flat_hand_mean: bool = True) -> None:
        if not isinstance(data, HandModelData):
            raise TypeError(f"data must be a HandModelData, got {type(data).__name__}")
        f64 = np.float64
        self.data = data
        self.name = data.name
        self.side = data.side
        self.flat_hand_mean = flat_hand_mean
        self.faces = np.ascontiguousarray(data.faces, dtype=np.int32)
        self.v_template = np.asarray(data.v_template, dtype=f64)
        self.num_shape = data.num_shape
        self.hands_components = np.asarray(data.hands_components, dtype=f64)
        self.hands_mean = np.asarray(data.hands_mean, dtype=f64)
        self.bone_frames = np.asarray(data.bone_frames, dtype=f64)
        self._bone_frames_kp = self.bone_frames[KEYPOINT_BONE]  # (21, 3, 3)
        shapedirs = np.asarray(data.shapedirs, dtype=f64)
        # rest joints and keypoints and their linear shape derivatives (for the fits)
        j_reg, kp_reg = np.asarray(data.j_regressor, dtype=f64), np.asarray(data.keypoint_regressor, dtype=f64)
        self.j_template = j_reg @ self.v_template  # (16, 3)
        self.kp_template = kp_reg @ self.v_template  # (21, 3) MediaPipe order
        self.j_shapedirs = np.einsum("jv,vcs->jcs", j_reg, shapedirs)  # (16, 3, S)
        self.kp_shapedirs = np.einsum("kv,vcs->kcs", kp_reg, shapedirs)  # (21, 3, S)
        # coordinate-major (3, V) layouts: the skinning then runs over long contiguous rows
        nv = len(self.v_template)
        self._v_t = np.ascontiguousarray(self.v_template.T)
        self._shapedirs_t = np.ascontiguousarray(shapedirs.transpose(1, 0, 2).reshape(-1, self.num_shape))
        self._posedirs = np.asarray(data.posedirs, dtype=f64).reshape(nv * 3, data.posedirs.shape[2])
        self._weights_t = np.ascontiguousarray(np.asarray(data.weights, dtype=f64).T)  # (16, V)

    # ---- pieces -------------------------------------------------------------------------------------------
    @staticmethod
    def _check_batch(x: np.ndarray | None, width: int, what: str, batch: int | None) -> np.ndarray | None:
        if x is None:
            return None
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"{what} must have shape (B, {width}) or ({width},), got {x.shape}")
        if batch is not None and x.shape[0] != batch:
            raise ValueError(f"{what} has batch {x.shape[0]}, expected {batch}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{what} contains NaN or inf")
        return x

    def pca_to_hand_pose(self, coeffs: np.ndarray) -> np.ndarray:
        """(B, n) PCA coefficients (n <= 45) -> (B, 45) axis-angle hand pose (relative to the mean hand)."""
        c = np.asarray(coeffs, dtype=np.float64)
        if c.ndim == 1:
            c = c[None]
        if c.ndim != 2 or not 1 <= c.shape[1] <= 45:
            raise ValueError(f"PCA pose must have shape (B, n) with 1 <= n <= 45, got {c.shape}")
        return c @ self.hands_components[: c.shape[1]]

    def rest(self, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rest joints (B, 16, 3) and rest keypoints (B, 21, 3, MediaPipe order) for shape ``betas`` (B, S)."""
        joints = self.j_template + (self.j_shapedirs @ betas.T).transpose(2, 0, 1)
        kps = self.kp_template + (self.kp_shapedirs @ betas.T).transpose(2, 0, 1)
        return joints, kps

    def rest_kinematics(self, betas: np.ndarray) -> Rest:
        """The kinematic rest quantities (``kinematics.Rest``) for shape ``betas`` (B, S)."""
        joints, kps = self.rest(betas)
        return Rest(joints, kps[:, INTERNAL_TO_MP])

    # ---- forward ------------------------------------------------------------------------------------------
    def forward(
        self,
        global_orient: np.ndarray | None = None,
        hand_pose: np.ndarray | None = None,
        betas: np.ndarray | None = None,
        transl: np.ndarray | None = None,
        hand_pose_pca: np.ndarray | None = None,
        with_vertices: bool = True,
    ) -> HandBatch:
        """Pose the model.

        Args:
            global_orient: (B, 3) axis-angle of the root (wrist) joint, radians. Default zeros.
            hand_pose: (B, 45) axis-angle of joints 1-15 (MANO order), radians. Default zeros.
            betas: (B, S) shape parameters. Default zeros.
            transl: (B, 3) translation, metres. Default zeros.
            hand_pose_pca: (B, n) PCA coefficients instead of ``hand_pose`` (not both).
            with_vertices: skip skinning the mesh when False (keypoints only).
        """
        if hand_pose is not None and hand_pose_pca is not None:
            raise ValueError("give hand_pose or hand_pose_pca, not both")
        if hand_pose_pca is not None:
            hand_pose = self.pca_to_hand_pose(hand_pose_pca)
        sizes = [np.shape(x)[0] for x in (global_orient, hand_pose, betas, transl) if x is not None and np.ndim(x) == 2]
        batch = sizes[0] if sizes else 1
        go = self._check_batch(global_orient, 3, "global_orient", batch)
        hp = self._check_batch(hand_pose, 45, "hand_pose", batch)
        bt = self._check_batch(betas, self.num_shape, "betas", batch)
        tr = self._check_batch(transl, 3, "transl", batch)
        go = go if go is not None else np.zeros((batch, 3))
        hp = hp if hp is not None else np.zeros((batch, 45))
        bt = bt if bt is not None else np.zeros((batch, self.num_shape))
        tr = tr if tr is not None else np.zeros((batch, 3))
        if not self.flat_hand_mean:
            hp = hp + self.hands_mean
        pose = np.concatenate([go, hp], axis=1).reshape(batch, NUM_JOINTS, 3)
        return self.forward_rotations(axis_angle_to_matrix(pose), bt, tr, with_vertices, pose=pose)

    __call__ = forward

    def forward_rotations(
        self,
        rot_local: np.ndarray,
        betas: np.ndarray,
        transl: np.ndarray,
        with_vertices: bool = True,
        pose: np.ndarray | None = None,
    ) -> HandBatch:
        """Forward pass from local rotation matrices (B, 16, 3, 3) (flat-hand convention), betas (B, S) and
        transl (B, 3); ``pose`` (B, 16, 3): the same rotations as axis-angle when the caller has them."""
        rot = np.ascontiguousarray(rot_local, dtype=np.float64)
        bt = np.asarray(betas, dtype=np.float64)
        tr = np.asarray(transl, dtype=np.float64)
        b = rot.shape[0]
        joints, kps = self.rest(bt)
        a, o, kp = forward(rot, tr, Rest(joints, kps[:, INTERNAL_TO_MP]))
        verts = None
        if with_vertices:
            nv = self._v_t.shape[1]
            v = self._v_t + (self._shapedirs_t @ bt.T).T.reshape(b, 3, nv)  # (B, 3, V)
            if self._posedirs.shape[1]:
                feat = (rot[:, 1:] - np.eye(3)).reshape(b, -1)
                v = v + (feat @ self._posedirs.T).reshape(b, nv, 3).transpose(0, 2, 1)
            shift = o - (a @ joints[..., None])[..., 0]
            mats = np.concatenate([a.reshape(b, NUM_JOINTS, 9), shift], axis=2)  # (B, 16, 12)
            blended = mats.transpose(0, 2, 1) @ self._weights_t  # (B, 12, V): per-vertex [R | t]
            posed = np.add.reduce(blended[:, :9].reshape(b, 3, 3, nv) * v[:, None], 2) + blended[:, 9:]
            verts = posed.transpose(0, 2, 1)
        if pose is None:
            pose = matrix_to_axis_angle(rot)
        return HandBatch(verts, kp[:, MP_TO_INTERNAL], o, a, pose, bt, tr)

    def outputs(self, batch: HandBatch) -> list[HandModelOutput]:
        """Split a :class:`HandBatch` into per-hand :class:`HandModelOutput` (skins the mesh if needed)."""
        if batch.vertices is None:
            batch = self.forward_rotations(axis_angle_to_matrix(batch.pose), batch.betas, batch.transl, True,
                                           pose=batch.pose)
        rots = batch.joint_rotations
        kp_rot = rots[:, KEYPOINT_BONE]
        frames = (kp_rot @ self._bone_frames_kp).astype(np.float32)
        kp_rot = kp_rot.astype(np.float32)
        verts, kps, pose = (np.asarray(x, dtype=np.float32) for x in (batch.vertices, batch.keypoints, batch.pose))
        wrist_pos = batch.joint_positions[:, 0].astype(np.float32)
        wrist_rot = rots[:, 0].astype(np.float32)
        betas = np.asarray(batch.betas, dtype=np.float32)
        return [
            HandModelOutput(
                model=self.name,
                side=self.side,
                vertices=verts[i],
                faces=self.faces,
                joints=kps[i],
                joint_rotations=kp_rot[i],
                keypoint_frames=frames[i],
                frame_names=KEYPOINT_NAMES,
                wrist_position=wrist_pos[i],
                wrist_rotation=wrist_rot[i],
                wrist_axis_angle=pose[i, 0],
                pose=pose[i],
                betas=betas[i],
            )
            for i in range(kps.shape[0])
        ]
