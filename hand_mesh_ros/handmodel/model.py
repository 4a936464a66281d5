"""The hand model forward pass in torch (CPU or GPU): shape and pose blend shapes, skinning, keypoints.

Conventions: metres; the model's canonical frame (see ``data.HandModelData``); pose = 16 axis-angle
rotations (MANO order), joint 0 being the global orientation about the wrist joint, joints 1-15 local to their
parent; ``transl`` is added after rotation (MANO's convention: wrist position = rest wrist joint + transl).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from .constants import KEYPOINT_BONE, KEYPOINT_NAMES, NUM_JOINTS
from .data import HandModelData
from .fit_numpy import NumpyRest
from .fit_numpy import forward as np_forward
from .kinematics import INTERNAL_TO_MP, MP_TO_INTERNAL, Pose, forward_kinematics, make_rest
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle


class HandBatch(NamedTuple):
    """Batched forward-pass result (torch, B hands). Positions in metres in the caller's frame."""

    vertices: torch.Tensor | None  # (B, V, 3), None when not requested
    keypoints: torch.Tensor  # (B, 21, 3) MediaPipe order
    joint_positions: torch.Tensor  # (B, 16, 3) MANO joint centres
    joint_rotations: torch.Tensor  # (B, 16, 3, 3) global rotation of each MANO joint
    pose: torch.Tensor  # (B, 16, 3) axis-angle (flat-hand convention: mean already added)
    betas: torch.Tensor  # (B, S)
    transl: torch.Tensor  # (B, 3)


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
    """A :class:`HandModelData` on a torch device, with a batched forward pass.

    Args:
        data: the model arrays.
        device / dtype: torch placement (default CPU float32).
        flat_hand_mean: if False, ``hand_pose`` given to :meth:`forward` is relative to MANO's mean hand
            (``hands_mean`` is added); if True (default) zero pose is the flat hand.
    """

    def __init__(
        self,
        data: HandModelData,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        flat_hand_mean: bool = True,
    ) -> None:
        if not isinstance(data, HandModelData):
            raise TypeError(f"data must be a HandModelData, got {type(data).__name__}")
        self.data = data
        self.name = data.name
        self.side = data.side
        self.device = torch.device(device)
        self.dtype = dtype
        self.flat_hand_mean = flat_hand_mean

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=self.device)

        self.faces = np.ascontiguousarray(data.faces, dtype=np.int32)
        self.v_template = t(data.v_template)
        self.shapedirs = t(data.shapedirs)
        self.posedirs = t(
            data.posedirs.reshape(data.posedirs.shape[0] * 3, data.posedirs.shape[2])
        )  # (V*3, P)
        self.weights = t(data.weights)
        self.j_regressor = t(data.j_regressor)
        self.kp_regressor = t(data.keypoint_regressor)
        self.hands_components = t(data.hands_components)
        self.hands_mean = t(data.hands_mean)
        self.bone_frames = t(data.bone_frames)
        self._bone_frames_kp = np.asarray(data.bone_frames, dtype=np.float64)[KEYPOINT_BONE]  # (21, 3, 3)
        self.num_shape = data.num_shape
        # rest quantities and their linear shape derivatives (for the fit)
        self.j_template = self.j_regressor @ self.v_template  # (16, 3)
        self.kp_template = self.kp_regressor @ self.v_template  # (21, 3)
        self.j_shapedirs = torch.einsum("jv,vcs->jcs", self.j_regressor, self.shapedirs)  # (16, 3, S)
        self.kp_shapedirs = torch.einsum("kv,vcs->kcs", self.kp_regressor, self.shapedirs)  # (21, 3, S)
        self.keypoint_bone = torch.as_tensor(KEYPOINT_BONE, device=self.device)
        self.mp_to_internal = torch.as_tensor(MP_TO_INTERNAL, device=self.device)
        self.internal_to_mp = torch.as_tensor(INTERNAL_TO_MP, device=self.device)
        # float64 numpy copies for the CPU forward pass (numpy: far less per-call overhead than torch)
        if self.device.type == "cpu":
            f64 = np.float64
            self._np_j = (self.j_template.double().numpy(), self.j_shapedirs.double().numpy())
            self._np_kp = (
                self.kp_template.double().numpy()[INTERNAL_TO_MP],
                self.kp_shapedirs.double().numpy()[INTERNAL_TO_MP],
            )
            # coordinate-major (3, V) layouts: the skinning then runs over long contiguous rows
            self._np_v_t = np.ascontiguousarray(np.asarray(data.v_template, dtype=f64).T)
            self._np_shapedirs_t = np.ascontiguousarray(
                np.asarray(data.shapedirs, dtype=f64).transpose(1, 0, 2).reshape(-1, self.num_shape)
            )
            self._np_posedirs = self.posedirs.double().numpy()
            self._np_weights_t = np.ascontiguousarray(np.asarray(data.weights, dtype=f64).T)  # (16, V)

    # ---- pieces -------------------------------------------------------------------------------------------
    def _check_batch(
        self, x: torch.Tensor | np.ndarray | None, width: int, what: str, batch: int | None
    ) -> torch.Tensor | None:
        if x is None:
            return None
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"{what} must have shape (B, {width}) or ({width},), got {tuple(x.shape)}")
        if batch is not None and x.shape[0] != batch:
            raise ValueError(f"{what} has batch {x.shape[0]}, expected {batch}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{what} contains NaN or inf")
        return x

    def pca_to_hand_pose(self, coeffs: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(B, n) PCA coefficients (n <= 45) -> (B, 45) axis-angle hand pose (relative to the mean hand)."""
        c = torch.as_tensor(coeffs, dtype=self.dtype, device=self.device)
        if c.ndim == 1:
            c = c[None]
        if c.ndim != 2 or not 1 <= c.shape[1] <= 45:
            raise ValueError(f"PCA pose must have shape (B, n) with 1 <= n <= 45, got {tuple(c.shape)}")
        return c @ self.hands_components[: c.shape[1]]

    def rest(self, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rest joints (B, 16, 3) and rest keypoints (B, 21, 3) for shape ``betas`` (B, S)."""
        joints = self.j_template + torch.einsum("jcs,bs->bjc", self.j_shapedirs, betas)
        kps = self.kp_template + torch.einsum("kcs,bs->bkc", self.kp_shapedirs, betas)
        return joints, kps

    def pose_skeleton(self, rot_local: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor) -> Pose:
        """Skeleton pose from MANO-order local rotations (B, 16, 3, 3), betas (B, S), transl (B, 3)."""
        joints, kp_rest = self.rest(betas)
        rest = make_rest(joints, kp_rest)
        b = rot_local.shape[0]
        return forward_kinematics(rot_local[:, 0], rot_local[:, 1:].reshape(b, 5, 3, 3, 3), transl, rest)

    # ---- forward ------------------------------------------------------------------------------------------
    def forward(
        self,
        global_orient: torch.Tensor | np.ndarray | None = None,
        hand_pose: torch.Tensor | np.ndarray | None = None,
        betas: torch.Tensor | np.ndarray | None = None,
        transl: torch.Tensor | np.ndarray | None = None,
        hand_pose_pca: torch.Tensor | np.ndarray | None = None,
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
        sizes = [
            x.shape[0] for x in (global_orient, hand_pose, betas, transl) if x is not None and np.ndim(x) == 2
        ]
        batch = sizes[0] if sizes else 1
        z = torch.zeros
        go = self._check_batch(global_orient, 3, "global_orient", batch)
        hp = self._check_batch(hand_pose, 45, "hand_pose", batch)
        bt = self._check_batch(betas, self.num_shape, "betas", batch)
        tr = self._check_batch(transl, 3, "transl", batch)
        go = go if go is not None else z(batch, 3, dtype=self.dtype, device=self.device)
        hp = hp if hp is not None else z(batch, 45, dtype=self.dtype, device=self.device)
        bt = bt if bt is not None else z(batch, self.num_shape, dtype=self.dtype, device=self.device)
        tr = tr if tr is not None else z(batch, 3, dtype=self.dtype, device=self.device)
        if not self.flat_hand_mean:
            hp = hp + self.hands_mean
        pose = torch.cat([go, hp], dim=1).reshape(batch, NUM_JOINTS, 3)
        return self.forward_rotations(axis_angle_to_matrix(pose), bt, tr, with_vertices, pose=pose)

    def forward_rotations(
        self,
        rot_local: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor,
        with_vertices: bool = True,
        pose: torch.Tensor | None = None,
    ) -> HandBatch:
        """Forward pass from local rotation matrices (B, 16, 3, 3) (flat-hand convention).

        On the CPU without autograd the skeleton and the mesh are computed in float64 numpy (the same
        formulas; far less per-call overhead) and returned as tensors of the model's dtype.
        """
        if self.device.type == "cpu" and not (
            torch.is_grad_enabled()
            and (rot_local.requires_grad or betas.requires_grad or transl.requires_grad)
        ):
            return self._forward_numpy(rot_local, betas, transl, with_vertices, pose)
        batch = rot_local.shape[0]
        joints, kp_rest = self.rest(betas)
        sk = forward_kinematics(
            rot_local[:, 0], rot_local[:, 1:].reshape(batch, 5, 3, 3, 3), transl, make_rest(joints, kp_rest)
        )
        a = torch.cat([sk.a0[:, None], sk.af.reshape(batch, 15, 3, 3)], dim=1)
        o = torch.cat([sk.o0[:, None], sk.of.reshape(batch, 15, 3)], dim=1)
        kps = sk.kp[:, self.mp_to_internal]
        verts = None
        if with_vertices:
            v = self.v_template + torch.einsum("vcs,bs->bvc", self.shapedirs, betas)
            if self.posedirs.shape[1]:
                eye = torch.eye(3, dtype=self.dtype, device=self.device)
                feat = (rot_local[:, 1:] - eye).reshape(batch, -1)
                v = v + (feat @ self.posedirs.T).reshape(batch, -1, 3)
            t = o - (a @ joints[..., None])[..., 0]
            mats = torch.cat([a.reshape(batch, NUM_JOINTS, 9), t], dim=2)  # (B, 16, 12)
            blended = self.weights @ mats  # (B, V, 12)
            verts = (blended[..., :9].reshape(batch, -1, 3, 3) @ v[..., None])[..., 0] + blended[..., 9:]
        if pose is None:
            pose = matrix_to_axis_angle(rot_local)
        return HandBatch(verts, kps, o, a, pose, betas, transl)

    def _forward_numpy(
        self,
        rot_local: torch.Tensor,
        betas: torch.Tensor,
        transl: torch.Tensor,
        with_vertices: bool,
        pose: torch.Tensor | None,
    ) -> HandBatch:
        """:meth:`forward_rotations` in float64 numpy (CPU)."""
        f64 = np.float64
        rot = np.ascontiguousarray(rot_local.numpy(force=True), dtype=f64)
        bt = np.asarray(betas.numpy(force=True), dtype=f64)
        tr = np.asarray(transl.numpy(force=True), dtype=f64)
        b = rot.shape[0]
        joints = self._np_j[0] + (self._np_j[1] @ bt.T).transpose(2, 0, 1)
        kps = self._np_kp[0] + (self._np_kp[1] @ bt.T).transpose(2, 0, 1)
        a, o, kp = np_forward(rot, tr, NumpyRest(joints, kps))
        np_dt = np.float32 if self.dtype == torch.float32 else f64

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np_dt))

        verts = None
        if with_vertices:
            nv = self._np_v_t.shape[1]
            v = self._np_v_t + (self._np_shapedirs_t @ bt.T).T.reshape(b, 3, nv)  # (B, 3, V)
            if self._np_posedirs.shape[1]:
                feat = (rot[:, 1:] - np.eye(3)).reshape(b, -1)
                v = v + (feat @ self._np_posedirs.T).reshape(b, nv, 3).transpose(0, 2, 1)
            shift = o - (a @ joints[..., None])[..., 0]
            mats = np.concatenate([a.reshape(b, NUM_JOINTS, 9), shift], axis=2)  # (B, 16, 12)
            blended = mats.transpose(0, 2, 1) @ self._np_weights_t  # (B, 12, V): per-vertex [R | t]
            posed = np.add.reduce(blended[:, :9].reshape(b, 3, 3, nv) * v[:, None], 2) + blended[:, 9:]
            verts = t(posed.transpose(0, 2, 1))
        if pose is None:
            pose = matrix_to_axis_angle(rot_local)
        return HandBatch(verts, t(kp[:, MP_TO_INTERNAL]), t(o), t(a), pose, betas, transl)

    __call__ = forward

    def outputs(self, batch: HandBatch) -> list[HandModelOutput]:
        """Split a :class:`HandBatch` into per-hand :class:`HandModelOutput` (skins the mesh if needed)."""
        if batch.vertices is None:
            rot = axis_angle_to_matrix(batch.pose)
            batch = self.forward_rotations(rot, batch.betas, batch.transl, True, pose=batch.pose)

        # numpy once per batch (torch calls on tiny tensors cost microseconds each), then views per hand
        def n(x: torch.Tensor) -> np.ndarray:
            return x.numpy(force=True)

        rots = n(batch.joint_rotations)  # model dtype
        kp_rot = rots[:, KEYPOINT_BONE]
        frames = (kp_rot @ self._bone_frames_kp.astype(rots.dtype, copy=False)).astype(np.float32)
        kp_rot = kp_rot.astype(np.float32)
        f32 = [n(x).astype(np.float32, copy=False) for x in (batch.vertices, batch.keypoints, batch.pose)]
        verts, kps, pose = f32
        wrist_pos = n(batch.joint_positions[:, 0]).astype(np.float32, copy=False)
        wrist_rot = rots[:, 0].astype(np.float32, copy=False)
        betas = n(batch.betas).astype(np.float32, copy=False)
        out = []
        for i in range(kps.shape[0]):
            out.append(
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
            )
        return out
