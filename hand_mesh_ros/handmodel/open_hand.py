"""Convert the WebXR generic-hand glb (MIT, Amazon) into a :class:`HandModelData` with MANO's tree.

Re-rigging: the asset's 25 joints are flat children of the armature; the chain is rebuilt from their names.
The four finger metacarpals are folded into the wrist (their skin weights go to MANO joint 0); each finger's
proximal, intermediate and distal phalanx nodes become MANO's joints 1-3 of that finger (they sit at the
MCP, PIP and DIP joint centres); the thumb's metacarpal, proximal and distal nodes become thumb1-3 (CMC, MCP,
IP); the tip nodes carry no joint (their weights go to the distal joint).

Canonical frame: the asset is rotated by a signed axis permutation and translated so that its wrist joint is
at the origin, the fingers point along -x (right) / +x (left), the thumb side is +z, the back of the hand +y,
which is MANO's layout.

Keypoints (MediaPipe's landmark definitions), see ``keypoint_targets``: the asset's wrist joint sits inside
the forearm stump, its knuckle joints slightly behind MediaPipe's MCP landmarks and its tip joints inside the
finger pads; the offsets below move them. They were chosen by fitting the model to MediaPipe's own world
landmarks (325 frames of the reference video) and to 100 annotated real hands (handgraph_dev), a small grid
over both offsets; the values below were best or near best on both (docs/handmodel.md has the table).

Shape: 10 directions defined here (no statistics behind them), one unit is roughly one standard deviation of
adult hands; see ``SHAPE_NAMES``. Pose blend shapes: none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .constants import MANO_PARENTS, NUM_JOINTS, NUM_KEYPOINTS, check_side
from .data import HandModelData, affine_regressor, rest_frame
from .glb import GlbFile, read_glb

FINGERS = ("index", "middle", "pinky", "ring")  # MANO finger order of joints 1-12
_FINGER_FIRST_JOINT = {"index": 1, "middle": 4, "pinky": 7, "ring": 10, "thumb": 13}
_XR_FINGER = {f: f"{f}-finger" for f in FINGERS}

SHAPE_NAMES = (
    "overall_size",  # +6 % of every length per unit, about the wrist joint
    "palm_width",  # +6 % of the palm's thumb-pinky extent; fingers move with their knuckles
    "palm_length",  # +6 % of the palm's wrist-knuckle extent; fingers move with their knuckles
    "thumb_size",
    "index_size",
    "middle_size",
    "ring_size",
    "pinky_size",  # +6 % of that digit about its base
    "finger_thickness",  # +10 % of every digit's radius around its bones
    "palm_thickness",  # +10 % of the palm's back-palm extent
)

# Keypoint offsets in metres along the relevant bone (see module docstring and docs/handmodel.md).
WRIST_FORWARD_M = 0.012  # wrist keypoint: from the asset's wrist joint towards the middle knuckle
MCP_FORWARD_M = 0.006  # MCP keypoints: from the knuckle joint along the proximal phalanx
TIP_INSET_M = 0.002  # tip keypoints: this far inside the most distal skin point along the last bone


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _world_transforms(glb: GlbFile) -> list[np.ndarray]:
    parent = {c: i for i, n in enumerate(glb.nodes) for c in n.children}
    local = []
    for n in glb.nodes:
        m = np.eye(4)
        m[:3, :3] = _quat_to_matrix(n.rotation_xyzw) * n.scale[None, :]
        m[:3, 3] = n.translation
        local.append(m)
    world: list[np.ndarray] = []
    for i in range(len(glb.nodes)):
        m = local[i]
        j = parent.get(i)
        while j is not None:
            m = local[j] @ m
            j = parent.get(j)
        world.append(m)
    return world


def _mano_node_names() -> list[str]:
    names = ["wrist"]
    for f in FINGERS:
        x = _XR_FINGER[f]
        names += [f"{x}-phalanx-proximal", f"{x}-phalanx-intermediate", f"{x}-phalanx-distal"]
    names += ["thumb-metacarpal", "thumb-phalanx-proximal", "thumb-phalanx-distal"]
    return names


def _xr_to_mano_joint(name: str) -> int:
    """MANO joint that takes over the skin weights of the asset joint ``name``."""
    if name == "wrist" or (name.endswith("-metacarpal") and not name.startswith("thumb")):
        return 0
    if name.startswith("thumb"):
        part = {"metacarpal": 0, "phalanx-proximal": 1, "phalanx-distal": 2, "tip": 2}
        return 13 + part[name[len("thumb-") :]]
    for f in FINGERS:
        prefix = _XR_FINGER[f] + "-"
        if name.startswith(prefix):
            part = {"phalanx-proximal": 0, "phalanx-intermediate": 1, "phalanx-distal": 2, "tip": 2}
            return _FINGER_FIRST_JOINT[f] + part[name[len(prefix) :]]
    raise ValueError(f"unexpected joint name in the hand asset: {name!r}")


def _weld(positions: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge vertices sharing a position (UV seams); returns (unique positions, faces, first source index)."""
    _, first, inverse = np.unique(
        np.round(positions.astype(np.float64), 6), axis=0, return_index=True, return_inverse=True
    )
    order = np.argsort(first)  # keep the asset's vertex order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    new_faces = rank[inverse.ravel()][faces]
    keep = (
        (new_faces[:, 0] != new_faces[:, 1])
        & (new_faces[:, 1] != new_faces[:, 2])
        & (new_faces[:, 0] != new_faces[:, 2])
    )
    src = first[order]
    return positions[src].astype(np.float64), new_faces[keep], src


def _canonical_rotation(finger_dir: np.ndarray, thumb_dir: np.ndarray, side: str) -> np.ndarray:
    """Signed axis permutation taking the asset's finger direction to -x/+x and its thumb side to +z."""
    target_f = np.array([-1.0, 0.0, 0.0]) if side == "right" else np.array([1.0, 0.0, 0.0])
    target_t = np.array([0.0, 0.0, 1.0])
    src = np.stack([finger_dir, thumb_dir, np.cross(finger_dir, thumb_dir)], axis=1)
    dst = np.stack([target_f, target_t, np.cross(target_f, target_t)], axis=1)
    u, _, vt = np.linalg.svd(dst @ src.T)
    r = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    snapped = np.round(r)
    if not np.allclose(np.abs(np.linalg.det(snapped)), 1.0) or np.abs(snapped).sum() != 3:
        raise ValueError("hand asset is not axis-aligned as expected; cannot map it to MANO's frame")
    return snapped


def _shape_directions(
    v: np.ndarray, w16: np.ndarray, joints: np.ndarray, kp: np.ndarray, side: str
) -> np.ndarray:
    """(V, 3, 10) vertex offsets per unit of each shape parameter (see SHAPE_NAMES)."""
    ex, ey, ez = np.eye(3)
    along = -ex if side == "right" else ex
    j0 = joints[0]
    palm_w = w16[:, 0]
    digits = {"thumb": 13, "index": 1, "middle": 4, "ring": 10, "pinky": 7}
    digit_w = {d: w16[:, j : j + 3].sum(axis=1) for d, j in digits.items()}
    dirs = np.zeros((len(v), 3, 10))
    dirs[:, :, 0] = 0.06 * (v - j0)

    def palm_field(points: np.ndarray, axis: np.ndarray, centre: np.ndarray) -> np.ndarray:
        return 0.06 * ((points - centre) @ axis)[:, None] * axis[None, :]

    palm_centre = joints[[1, 4, 7, 10]].mean(axis=0)
    for k, (axis, centre) in enumerate(((ez, palm_centre), (along, j0)), start=1):
        field = palm_w[:, None] * palm_field(v, axis, centre)
        for d, j in digits.items():  # digits follow their base joint rigidly
            field += digit_w[d][:, None] * palm_field(joints[j][None], axis, centre)
        dirs[:, :, k] = field
    for k, (d, j) in enumerate(digits.items(), start=3):
        dirs[:, :, k] = 0.06 * digit_w[d][:, None] * (v - joints[j])
    # finger thickness: radial offset from the dominant bone's axis segment
    dominant = np.argmax(w16, axis=1)
    child_kp = {j: None for j in range(NUM_JOINTS)}
    for j in range(1, NUM_JOINTS):
        kids = [c for c in range(NUM_JOINTS) if MANO_PARENTS[c] == j]
        child_kp[j] = joints[kids[0]] if kids else None
    tip_of = {3: kp[8], 6: kp[12], 9: kp[20], 12: kp[16], 15: kp[4]}
    radial = np.zeros_like(v)
    for j in range(1, NUM_JOINTS):
        sel = dominant == j
        a = joints[j]
        b = child_kp[j] if child_kp[j] is not None else tip_of[j]
        ab = b - a
        t = np.clip(((v[sel] - a) @ ab) / float(ab @ ab), 0.0, 1.0)
        radial[sel] = v[sel] - (a[None] + t[:, None] * ab[None])
    dirs[:, :, 8] = 0.10 * (1.0 - palm_w)[:, None] * radial
    dirs[:, :, 9] = 0.10 * palm_w[:, None] * ((v - j0) @ ey)[:, None] * ey[None, :]
    return dirs


def convert_glb(glb_path: str | Path, side: str) -> HandModelData:
    """Build the open hand model for ``side`` from the asset's ``{side}.glb``."""
    check_side(side)
    glb = read_glb(glb_path)
    world = _world_transforms(glb)
    mesh = glb.mesh
    skin_names = [glb.nodes[n].name for n in mesh.skin_joints]
    # 25 -> 16 skin weights
    remap = np.array([_xr_to_mano_joint(n) for n in skin_names])
    w25 = np.zeros((len(mesh.positions), len(skin_names)))
    np.add.at(w25, (np.arange(len(mesh.positions))[:, None], mesh.joints_0), mesh.weights_0)
    w16_raw = np.zeros((len(mesh.positions), NUM_JOINTS))
    np.add.at(w16_raw.T, remap, w25.T)
    positions, faces, src = _weld(mesh.positions, mesh.indices)
    w16 = w16_raw[src]
    w16 /= w16.sum(axis=1, keepdims=True)

    def node_pos(name: str) -> np.ndarray:
        return world[glb.node_index(name)][:3, 3].copy()

    def node_rot(name: str) -> np.ndarray:
        m = world[glb.node_index(name)][:3, :3]
        return m / np.linalg.norm(m, axis=0, keepdims=True)

    mano_nodes = _mano_node_names()
    joints_g = np.stack([node_pos(n) for n in mano_nodes])
    finger_dir = node_pos("middle-finger-tip") - node_pos("wrist")
    thumb_dir = node_pos("index-finger-phalanx-proximal") - node_pos("pinky-finger-phalanx-proximal")
    rot = _canonical_rotation(
        finger_dir / np.linalg.norm(finger_dir), thumb_dir / np.linalg.norm(thumb_dir), side
    )
    origin = joints_g[0]

    def to_canon(p: np.ndarray) -> np.ndarray:
        return (p - origin) @ rot.T

    v = to_canon(positions)
    joints = to_canon(joints_g)
    kp = keypoint_targets(v, w16, joints, {n: to_canon(node_pos(n)) for n in _tip_node_names()})
    backs = np.stack([rot @ node_rot(n)[:, 1] for n in mano_nodes])  # asset bones: +Y out of the back
    bone_frames = _bone_frames(joints, kp, backs)
    j_reg = np.stack([affine_regressor(v, joints[j]) for j in range(NUM_JOINTS)])
    kp_reg = np.stack([affine_regressor(v, kp[k]) for k in range(NUM_KEYPOINTS)])
    shapedirs = _shape_directions(v, w16, joints, kp, side)
    return HandModelData(
        name="open_hand",
        side=side,
        v_template=v,
        faces=faces.astype(np.int32),
        shapedirs=shapedirs,
        posedirs=np.zeros((len(v), 3, 0)),
        j_regressor=j_reg,
        weights=w16,
        keypoint_regressor=kp_reg,
        hands_components=np.eye(45),
        hands_mean=np.zeros(45),
        bone_frames=bone_frames,
        tip_vertices=-np.ones(5, dtype=np.int64),
    )


def _tip_node_names() -> list[str]:
    return ["thumb-tip"] + [f"{_XR_FINGER[f]}-tip" for f in ("index", "middle", "ring", "pinky")]


def keypoint_targets(
    v: np.ndarray, w16: np.ndarray, joints: np.ndarray, tips: dict[str, np.ndarray]
) -> np.ndarray:
    """The 21 rest keypoints (MediaPipe order) of the open model, canonical frame, metres.

    wrist: the wrist joint moved WRIST_FORWARD_M towards the middle knuckle; thumb CMC/MCP/IP: the thumb
    joints; finger MCP: knuckle joint moved MCP_FORWARD_M along the proximal phalanx; PIP/DIP: the joints;
    tips: on the last bone's axis, TIP_INSET_M inside the most distal skin vertex of that digit.
    """
    kp = np.zeros((NUM_KEYPOINTS, 3))
    wrist_dir = joints[4] - joints[0]
    kp[0] = joints[0] + WRIST_FORWARD_M * wrist_dir / np.linalg.norm(wrist_dir)
    kp[1:4] = joints[13:16]
    layout = {"index": (5, 1), "middle": (9, 4), "ring": (13, 10), "pinky": (17, 7)}
    for _finger, (k, j) in layout.items():
        bone = joints[j + 1] - joints[j]
        kp[k] = joints[j] + MCP_FORWARD_M * bone / np.linalg.norm(bone)
        kp[k + 1] = joints[j + 1]
        kp[k + 2] = joints[j + 2]
    digits = (
        ("thumb-tip", 4, 15),
        ("index-finger-tip", 8, 3),
        ("middle-finger-tip", 12, 6),
        ("ring-finger-tip", 16, 12),
        ("pinky-finger-tip", 20, 9),
    )
    dominant = np.argmax(w16, axis=1)
    for node, k, j in digits:
        axis = tips[node] - joints[j]
        axis /= np.linalg.norm(axis)
        reach = float(((v[dominant == j] - joints[j]) @ axis).max())
        kp[k] = joints[j] + (reach - TIP_INSET_M) * axis
    return kp


def _bone_frames(joints: np.ndarray, kp: np.ndarray, backs: np.ndarray) -> np.ndarray:
    """Rest anatomical frames: x towards the child keypoint, z out of the back (from the asset's +Y)."""
    from .constants import JOINT_TO_KEYPOINT, KEYPOINT_CHILD

    frames = np.zeros((NUM_JOINTS, 3, 3))
    for j in range(NUM_JOINTS):
        k = int(JOINT_TO_KEYPOINT[j])
        child = int(KEYPOINT_CHILD[k])
        frames[j] = rest_frame(kp[child] - joints[j], backs[j])
    return frames


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[handmodel] {msg}", file=sys.stderr, flush=True)
