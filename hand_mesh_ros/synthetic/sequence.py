"""Render the synthetic sequence: posed hand-model meshes over a procedural background, with ground truth.

The camera is a static, distortion-free pinhole (camera optical frame: x right, y down, z forward). The
right hand is visible in every frame; the left hand joins for the second half. Palms face the camera (the
MediaPipe palm detector's strong case) and turn, tilt, come close and go far smoothly.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from ..geometry.camera import CameraModel
from ..handmodel.factory import load_hand_model
from ..handmodel.hand_length import model_hand_length
from ..handmodel.limits import pose_from_anatomical
from ..handmodel.model import HandModel
from ..handmodel.rotations import matrix_to_axis_angle
from ..render import Shading, render_meshes
from ..render.rasterizer import SKIN_RGB
from .background import make_background
from .motion import MOTIONS, HandState, default_keys, interpolate, motion_state
from .types import HandTruth, SyntheticFrame, SyntheticSequence

VERSION = 6  # bump whenever the generated content changes (invalidates caches)
FPS = 30.0
FOCAL_PX_AT_640 = 600.0  # fx = fy, scaled with the image width
CENTRE_TO_WRIST_M = 0.085  # the hand's centre (about mid-palm) lies this far from the wrist along the fingers
BLUR_SIGMA_PX = 0.6  # optics: softens the rasterizer's aliased edges
NOISE_SIGMA = 1.5  # sensor noise, grey levels


def _rot(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def base_rotation(model: HandModel) -> np.ndarray:
    """Rotation (model canonical frame -> camera) putting the rest hand fingers-up, palm towards the camera.

    The canonical back-of-hand direction (+y for both sides) goes to +z (away from the camera) and the
    wrist -> middle-MCP direction to -y (up in the image).
    """
    out = model.outputs(model(np.zeros(3)))[0]
    along = out.joints[9].astype(np.float64) - out.joints[0]
    back = np.array([0.0, 1.0, 0.0])
    along -= back * (along @ back)
    along /= np.linalg.norm(along)
    src = np.stack([along, back, np.cross(along, back)], axis=1)
    up, away = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    dst = np.stack([up, away, np.cross(up, away)], axis=1)
    return dst @ src.T


def pose_hands(
    model: HandModel, states: list[HandState], betas: np.ndarray, base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posed vertices (N, V, 3) and keypoints (N, 21, 3), metres, camera frame, and the root joint's global
    rotation (N, 3, 3) (camera <- the model's root frame, as ``ReconstructedHand.wrist_rotation``), for N states
    of one hand."""
    n = len(states)
    rots = np.stack([_rot(2, s.roll) @ _rot(1, s.yaw) @ _rot(0, s.pitch) @ base for s in states])
    orient = matrix_to_axis_angle(rots)
    anat = np.stack([s.anatomical for s in states])
    hand_pose = pose_from_anatomical(model.data.bone_frames, anat, model.side)
    batch = model(orient, hand_pose, np.repeat(betas[None], n, axis=0))
    verts, joints = batch.vertices, batch.keypoints
    # place the wrist so that the hand's centre lands at the wanted image position and depth
    fingers = np.einsum("nij,j->ni", rots @ base.T, np.array([0.0, -1.0, 0.0]))  # "up" after roll and tilt
    centre = np.stack([np.array([s.centre[0] * s.centre[2], s.centre[1] * s.centre[2], s.centre[2]])
                       for s in states])
    wrist = centre - CENTRE_TO_WRIST_M * fingers
    shift = wrist - joints[:, 0]
    return verts + shift[:, None], joints + shift[:, None], rots


def project(camera: CameraModel, points: np.ndarray) -> np.ndarray:
    """Pixel coordinates (..., 2) of camera-frame points (..., 3) (metres) with the pinhole K."""
    p = points @ camera.k.T
    return p[..., :2] / p[..., 2:]


def make_sequence(
    num_frames: int = 60, width: int = 640, height: int = 480, seed: int = 0, progress: bool = False,
    motion: str = "default", side: str = "right",
) -> SyntheticSequence:
    """Render a ``num_frames`` video (``FPS`` frames per second) of ``width`` x ``height`` RGB frames.

    ``motion`` "default": frames [0, num_frames // 2) show the right hand alone, [num_frames // 2, num_frames)
    both hands; any other name of :data:`~.motion.MOTIONS` shows one hand only, ``side`` ("right" or "left":
    the mirror image of the right hand's motion), moving as :func:`~.motion.motion_state` says at the frame's
    time (``seed`` then varies the background, the hand's shape and skin, not the motion). The camera
    is ``CameraModel.pinhole(width, height, fx)`` with fx = fy = 600 px at 640 px width (scaled with the
    width), principal point at the image centre. ``seed`` varies the background, the hands' shapes and skin
    tones and jitters the scripted motion; the same arguments always give identical frames.
    Needs the prepared open hand model (``python -m hand_mesh_ros.handmodel.prepare``).
    """
    for name, value, low in (("num_frames", num_frames, 2), ("width", width, 64), ("height", height, 48)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}; known: {sorted(MOTIONS)}")
    if side not in ("right", "left") or (motion == "default" and side != "right"):
        raise ValueError(f"side must be 'right' or 'left' (and 'right' for the default motion), got {side!r}")
    rng = np.random.default_rng(int(seed))
    camera = CameraModel.pinhole(int(width), int(height), FOCAL_PX_AT_640 * width / 640.0)
    background = make_background(int(width), int(height), rng)
    half = num_frames // 2
    if motion == "default":
        spans = {"right": range(0, num_frames), "left": range(half, num_frames)}
    else:
        spans = {s: range(0, num_frames) if s == side else range(0) for s in ("right", "left")}
    posed: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    lengths: dict[str, float] = {}
    shading: dict[str, Shading] = {}
    tone = rng.uniform(0.85, 1.05)
    for hand_side in ("right", "left"):
        span = spans[hand_side]
        if len(span) == 0:  # the test motions show one hand only
            continue
        model = load_hand_model(hand_side)
        keys = default_keys(hand_side, rng)
        if motion == "default":
            us = np.linspace(0.0, 1.0, len(span)) if len(span) > 1 else np.zeros(1)
            states = [interpolate(keys, float(u)) for u in us]
        else:
            states = [motion_state(motion, i / FPS, hand_side) for i in span]
        betas = np.clip(rng.normal(0.0, 0.5, size=model.num_shape), -1.0, 1.0)
        lengths[hand_side] = model_hand_length(model.data, betas)
        verts, joints, rots = pose_hands(model, states, betas, base_rotation(model))
        posed[hand_side] = (verts, joints, model.faces, rots)
        color = tuple(round(min(255.0, c * tone * rng.uniform(0.97, 1.03))) for c in SKIN_RGB)
        shading[hand_side] = Shading(color=color)  # type: ignore[arg-type]
    frames = []
    for i in range(num_frames):
        hands = []
        meshes = []
        for hand_side in ("right", "left"):
            if i not in spans[hand_side]:
                continue
            j = i - spans[hand_side].start
            verts, joints, faces, rots = posed[hand_side]
            hands.append(
                HandTruth(
                    side=hand_side,
                    joints=joints[j],
                    joints_px=project(camera, joints[j]),
                    vertices=verts[j].astype(np.float32),
                    faces=faces,
                    hand_length_m=lengths[hand_side],
                    wrist_rotation=rots[j],
                )
            )
            meshes.append((verts[j], faces, shading[hand_side]))
        rgb, _, mask = render_scene(meshes, camera, background, rng)
        frames.append(SyntheticFrame(i, i / FPS, rgb, mask, tuple(hands)))
        if progress and (i % 10 == 0 or i == num_frames - 1):
            print(f"synthetic: rendered frame {i + 1}/{num_frames}", file=sys.stderr)
    return SyntheticSequence(tuple(frames), camera, FPS, int(seed), VERSION, motion)


def render_scene(
    meshes: list[tuple[np.ndarray, np.ndarray, Shading]],
    camera: CameraModel,
    background: np.ndarray,
    rng: np.random.Generator,
    far_depth: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the hands far to near (each with its own skin tone) over the background, blur and add noise.

    Returns the image (H, W, 3) uint8, the exact depth (H, W) float32 metres of the nearest hand surface (else
    ``far_depth``, the scene behind the hands; infinity without it) and the hand mask (H, W) bool."""
    rgb = background
    mask = np.zeros(background.shape[:2], bool)
    depth = np.full(background.shape[:2], np.inf) if far_depth is None else far_depth.astype(np.float64)
    for verts, faces, shade in sorted(meshes, key=lambda m: -float(np.median(m[0][:, 2]))):
        out = render_meshes([(verts, faces)], camera.k, background=rgb, shading=shade)
        nearer = out.mask & (out.depth < depth)
        rgb = np.where(nearer[..., None], out.rgb, rgb)
        depth = np.where(nearer, out.depth, depth)
        mask |= out.mask
    img = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), BLUR_SIGMA_PX)
    img += rng.normal(0.0, NOISE_SIGMA, size=img.shape).astype(np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), depth.astype(np.float32), mask
