"""Random synthetic still images of one hand with exact ground truth (a development set, not an evaluation).

Each still: one hand of a random side, shape (10 shape parameters ~ N(0, 1), clipped to +-2.5), hand length
(N(0.185, 0.012) m), finger pose (a blend of two named poses plus noise, within the joint limits), orientation
(palm or back towards the camera, turned up to about 70 degrees), distance (0.3-0.8 m) and camera (640x480,
f 500-1000 px), rendered with a forearm over a procedural background. What it is for: measuring how
MediaPipe's outputs relate to the hand model's geometry (``tools/measure_cue_statistics.py``) and checking the
camera-space fit where the truth is exact, without touching any evaluation images.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..geometry.camera import CameraModel
from ..handmodel.hand_length import at_hand_length, model_hand_length
from ..handmodel.limits import limit_arrays, pose_from_anatomical
from ..handmodel.model import HandModel
from ..handmodel.rotations import matrix_to_axis_angle
from ..render import Shading
from ..render.rasterizer import SKIN_RGB
from .background import make_background
from .motion import key_poses
from .sequence import _rot, base_rotation, render_scene

WIDTH, HEIGHT = 640, 480
FOREARM_LENGTH_M = 0.25
MARGIN_PX = 10  # every keypoint at least this far inside the image


@dataclass(frozen=True, eq=False)
class Still:
    """One rendered still: ``rgb`` (H, W, 3) uint8, the pinhole ``camera``, and the hand's truth: ``side``,
    ``joints`` (21, 3) metres in the camera optical frame (MediaPipe order, the model's keypoints),
    ``hand_length_m`` and ``betas`` (10,) shape parameters."""

    rgb: np.ndarray
    camera: CameraModel
    side: str
    joints: np.ndarray
    hand_length_m: float
    betas: np.ndarray


def forearm_mesh(model: HandModel, segments: int = 16, rings: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """A tapered elliptic tube continuing the model's wrist stump, in the model's canonical rest frame.

    Returns vertices (rings * segments, 3) and outward-facing faces; it moves rigidly with the root joint.
    """
    d = model.data
    v = d.v_template
    kp = d.keypoint_regressor @ v
    j0 = (d.j_regressor @ v)[0]
    axis = kp[12] - kp[0]
    axis /= np.linalg.norm(axis)
    along = (v - j0) @ axis
    stump = v[along < along.min() + 0.004]
    centre = stump.mean(0)
    side_axis = np.array([0.0, 0.0, 1.0]) - axis * axis[2]
    side_axis /= np.linalg.norm(side_axis)
    back_axis = np.cross(axis, side_axis)
    r_side = np.abs((stump - centre) @ side_axis).max()
    r_back = np.abs((stump - centre) @ back_axis).max()
    angles = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    ring = np.cos(angles)[:, None] * r_side * side_axis + np.sin(angles)[:, None] * r_back * back_axis
    verts = np.concatenate([centre - axis * (FOREARM_LENGTH_M * s) + (1.0 + 0.15 * s) * ring
                            for s in np.linspace(0.0, 1.0, rings)])
    faces = []
    for r in range(rings - 1):
        for k in range(segments):
            a, b = r * segments + k, r * segments + (k + 1) % segments
            faces += [(a, b, b + segments), (a, b + segments, a + segments)]
    f = np.array(faces, dtype=np.int64)
    tri = verts[f]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    mid = tri.mean(1)
    radial = mid - (centre + np.outer((mid - centre) @ axis, axis))
    inward = (normal * radial).sum(1) < 0
    f[inward] = f[inward][:, ::-1]
    return verts - j0, f


def _natural_pose(rng: np.random.Generator) -> np.ndarray:
    """Anatomical angles (15, 3): a blend of two named poses (plus a fist and a thumbs-up) with noise."""
    poses = key_poses()
    fist = np.zeros((15, 3))
    fist[:12, 1] = np.tile((1.3, 1.5, 0.9), 4)
    fist[12:15, 1] = (0.5, 0.6, 0.8)
    fist[12, 2] = 0.5
    thumbs_up = fist.copy()
    thumbs_up[12:15] = 0.0
    thumbs_up[12, 2] = -0.3
    poses.update(fist=fist, thumbs_up=thumbs_up)
    names = sorted(poses)
    a, b = rng.choice(names, 2)
    t = rng.uniform()
    anat = (1 - t) * poses[a] + t * poses[b] + rng.normal(0.0, 0.12, (15, 3)) * np.array([0.3, 1.0, 0.6])
    lo, hi, _ = limit_arrays()
    return np.clip(anat, lo, hi)


def iter_stills(models: dict[str, HandModel], rng: np.random.Generator) -> Iterator[Still]:
    """Endless random stills of the two (mean-size) models ``{"right": ..., "left": ...}``."""
    bases = {s: base_rotation(m) for s, m in models.items()}
    forearms = {s: forearm_mesh(m) for s, m in models.items()}
    while True:
        side = "right" if rng.random() < 0.5 else "left"
        model = models[side]
        f = rng.uniform(500.0, 1000.0)
        camera = CameraModel.pinhole(WIDTH, HEIGHT, f)
        betas = np.clip(rng.normal(0.0, 1.0, model.num_shape), -2.5, 2.5)
        length = float(rng.normal(0.185, 0.012))
        hand_pose = pose_from_anatomical(model.data.bone_frames, _natural_pose(rng), side)[None]
        back = rng.random() < 0.3
        r = (_rot(2, rng.uniform(-1.2, 1.2)) @ _rot(1, rng.uniform(-0.8, 0.8) + (np.pi if back else 0.0))
             @ _rot(0, rng.uniform(-0.7, 0.7)) @ bases[side])
        orient = matrix_to_axis_angle(r)[None]
        out = model(orient, hand_pose, betas[None])
        verts, joints = out.vertices[0], out.keypoints[0]
        arm, arm_faces = forearms[side]
        wrist_bend = _rot(2, rng.uniform(-0.5, 0.5)) @ _rot(1, rng.uniform(-0.3, 0.3))
        arm = (out.joint_rotations[0, 0] @ wrist_bend @ arm.T).T + out.joint_positions[0, 0]
        scale = length / model_hand_length(model.data, betas)
        verts = np.concatenate([verts, arm])
        verts = joints[0] + scale * (verts - joints[0])
        joints = joints[0] + scale * (joints - joints[0])
        depth = rng.uniform(0.3, 0.8)
        centre = np.array([rng.uniform(-0.25, 0.25) * WIDTH / f, rng.uniform(-0.25, 0.25) * HEIGHT / f, 1.0])
        shift = centre * depth - joints.mean(0)
        verts += shift
        joints += shift
        px = camera.project(joints)
        if (not np.all(np.isfinite(px)) or px.min() < MARGIN_PX or px[:, 0].max() > WIDTH - MARGIN_PX
                or px[:, 1].max() > HEIGHT - MARGIN_PX or verts[:, 2].min() < 0.05):
            continue
        tone = rng.uniform(0.6, 1.1)
        shading = Shading(color=tuple(int(min(255.0, c * tone)) for c in SKIN_RGB))  # type: ignore[arg-type]
        faces = np.concatenate([model.faces, arm_faces + len(verts) - len(arm)])
        rgb, _, _ = render_scene([(verts, faces, shading)], camera, make_background(WIDTH, HEIGHT, rng), rng)
        yield Still(rgb, camera, side, joints, length, betas)


def mean_size_models() -> dict[str, HandModel]:
    """The open hand models of both sides at the default hand length (the stills rescale each hand)."""
    from ..handmodel.factory import load_hand_model_data
    from ..handmodel.hand_length import DEFAULT_HAND_LENGTH_M

    return {s: HandModel(at_hand_length(load_hand_model_data(s), DEFAULT_HAND_LENGTH_M)) for s in ("right", "left")}
