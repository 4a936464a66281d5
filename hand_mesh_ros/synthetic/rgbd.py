"""Synthetic RGB-D sequences: rendered hands of varied proportions, a wall behind them, a depth-camera model.

Frames and units: the camera optical frame (x right, y down, z forward), metres; depth images hold z (the
distance along the optical axis, not along the ray), as ROS depth images do. Pixel coordinates have their
origin at the centre of the top-left pixel. The camera is the RGB sequence's pinhole
(``CameraModel.pinhole(w, h, 600 * w / 640)``), shared by colour and depth (registered, no distortion).

Three parts:

* :class:`DepthSensorModel`: a structured-light / active-stereo depth camera (noise growing with z^2, invalid
  pixels along depth edges and silhouettes, random dropout, a minimum range, millimetre quantisation), turning
  the renderer's exact depth into what such a camera publishes (``16UC1`` millimetres, 0 = invalid).
* Hands that do not share the fit's proportions (:func:`random_bone_factors`, :func:`vary_bone_lengths`):
  every finger bone is lengthened or shortened on the hand model's rest data, then the hand is scaled to a
  person's hand length.
* :func:`make_rgbd_sequence` / :func:`load_or_make_rgbd_sequence`: a 30 fps video of one or two such hands
  moving in depth from 1.5 m to 0.3 m in front of a planar wall 2.0-2.5 m away, with exact truth.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..geometry.camera import CameraModel
from ..geometry.depth import DepthImage
from ..handmodel.constants import KEYPOINT_BONE, TIP_KEYPOINTS
from ..handmodel.data import HandModelData, affine_regressor
from ..handmodel.factory import load_hand_model_data
from ..handmodel.hand_length import at_hand_length, model_hand_length
from ..handmodel.model import HandModel
from ..paths import cache_dir as default_cache_dir
from ..render import Shading
from ..render.rasterizer import SKIN_RGB
from .background import make_background
from .cache import load_sequence, save_sequence
from .motion import HandState, KeyState, interpolate, key_poses
from .sequence import FOCAL_PX_AT_640, FPS, VERSION, base_rotation, pose_hands, project, render_scene
from .types import FrameSequence, HandTruth, SyntheticFrame, SyntheticSequence

RGBD_VERSION = 1  # bump whenever the generated content or the default sensor changes (invalidates caches)
NOISE_SIGMA = 1.5  # colour sensor noise, grey levels (as the RGB sequence)
HAND_LENGTH_RANGE_M = (0.16, 0.21)  # adults, wrist crease to middle fingertip (uniform per sequence)
BONE_FACTOR_RANGE = (0.9, 1.1)  # per-bone length factors (uniform, independent per bone and hand)
WALL_DEPTH_RANGE_M = (2.0, 2.5)  # the background wall's depth over the whole image
CALM_S = 1.5  # the first seconds stay near 0.6-0.7 m (where a depth camera is at its best)
FULL_DURATION_S = 8.0  # the depth sweep is laid out over at least this long (240 frames at 30 fps)
SWEEP_DEPTHS_M = (1.5, 0.3, 0.6)  # after the calm start: out to 1.5 m, in to 0.3 m, back to 0.6 m
CALM_KEYS = ((0.0, 0.60), (0.75, 0.72), (CALM_S, 0.62))  # (seconds, depth m) keys of the calm start
KEY_SPACING_S = 0.8  # one finger-pose / orientation key about every 0.8 s
MAX_TURN_RAD = np.deg2rad(19.0)  # roll, pitch and yaw stay within this (palms towards the camera)
MP_TO_MANO_FINGER = (4, 0, 1, 3, 2)  # MANO finger number of MediaPipe's thumb, index, middle, ring, pinky


# ---------------------------------------------------------------------------------------------- sensor model
@dataclass(frozen=True)
class DepthSensorModel:
    """A structured-light / active-stereo depth camera, applied to an exact depth image.

    noise_coefficient: Gaussian depth noise, standard deviation ``noise_coefficient * z^2`` metres (z in
        metres; 2 mm at 1 m, 8 mm at 2 m, like a stereo camera whose disparity error is constant).
    edge_band_px: pixels within this distance (Euclidean, in pixels) of a depth edge are invalid, on both sides
        of the edge: a band ``edge_band_px`` pixels wide on each side (0: no edge invalidation). Edges are the
        boundary of the hand silhouette (when given) and every pair of neighbouring pixels whose true depths
        differ by more than ``edge_jump_m`` (or where only one of the two has a surface).
    dropout: the fraction of pixels invalid at random (independently per pixel and frame).
    min_range_m / max_range_m: measured depths outside this range are invalid (nothing nearer than 0.2 m).
    quantization_m: depths are rounded to multiples of this (1 mm: the resolution of ``16UC1``).
    edge_jump_m: the neighbouring-pixel depth difference that counts as an edge.
    """

    noise_coefficient: float = 0.002
    edge_band_px: int = 2
    dropout: float = 0.02
    min_range_m: float = 0.2
    max_range_m: float = 10.0
    quantization_m: float = 0.001
    edge_jump_m: float = 0.03

    def __post_init__(self) -> None:
        if not np.isfinite(self.noise_coefficient) or self.noise_coefficient < 0:
            raise ValueError(f"noise_coefficient must be >= 0, got {self.noise_coefficient!r}")
        if not isinstance(self.edge_band_px, (int, np.integer)) or isinstance(self.edge_band_px, bool) \
                or self.edge_band_px < 0:
            raise ValueError(f"edge_band_px must be an integer >= 0, got {self.edge_band_px!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not 0.0 <= self.min_range_m < self.max_range_m <= 65.535:
            raise ValueError("need 0 <= min_range_m < max_range_m <= 65.535 (the 16UC1 range), got "
                             f"{self.min_range_m!r}, {self.max_range_m!r}")
        if not np.isfinite(self.quantization_m) or self.quantization_m <= 0:
            raise ValueError(f"quantization_m must be > 0, got {self.quantization_m!r}")
        if not np.isfinite(self.edge_jump_m) or self.edge_jump_m <= 0:
            raise ValueError(f"edge_jump_m must be > 0, got {self.edge_jump_m!r}")

    def edge_mask(self, true_depth_m: np.ndarray, silhouette: np.ndarray | None = None) -> np.ndarray:
        """(H, W) bool: the pixels this sensor loses along depth edges and the ``silhouette``'s boundary.

        ``true_depth_m`` (H, W) metres (0, inf or NaN: no surface); ``silhouette`` (H, W) bool or None.
        """
        z = _surface_depth(true_depth_m)
        edge = np.zeros(z.shape, bool)
        if self.edge_band_px == 0:
            return edge
        far = np.where(np.isnan(z), np.inf, z)
        with np.errstate(invalid="ignore"):  # inf - inf between two pixels without a surface: no edge
            for axis in (0, 1):
                jump = np.abs(np.diff(far, axis=axis)) > self.edge_jump_m
                _mark_both_sides(edge, jump, axis)
        if silhouette is not None:
            s = _check_silhouette(silhouette, z.shape)
            for axis in (0, 1):
                _mark_both_sides(edge, np.diff(s.astype(np.int8), axis=axis) != 0, axis)
        if self.edge_band_px > 1:
            r = self.edge_band_px - 1  # the marked pixels touch the edge: grow them by band - 1
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
            edge = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool)
        return edge

    def apply(
        self, true_depth_m: np.ndarray, rng: np.random.Generator, silhouette: np.ndarray | None = None
    ) -> np.ndarray:
        """The depth image this sensor publishes for an exact depth image.

        Args:
            true_depth_m: (H, W) float, z in metres along the optical axis; 0, inf or NaN where there is no
                surface.
            rng: the random source (noise and dropout; the same generator state gives the same image). Draws
                exactly two (H, W) arrays whatever the content.
            silhouette: (H, W) bool, e.g. the hand mask, whose boundary is an edge; None: depth jumps only.
        Returns:
            (H, W) uint16 millimetres, 0 = invalid (the ROS ``16UC1`` encoding).
        """
        z = _surface_depth(true_depth_m)
        surface = ~np.isnan(z)
        zs = np.where(surface, z, 0.0)
        noise = rng.standard_normal(z.shape) * (self.noise_coefficient * zs * zs)
        dropped = rng.random(z.shape) < self.dropout
        measured = np.round((zs + noise) / self.quantization_m) * self.quantization_m
        mm = np.round(measured * 1000.0)
        valid = surface & ~dropped & (measured >= self.min_range_m) & (measured <= self.max_range_m)
        valid &= (mm >= 1.0) & (mm <= 65535.0)
        valid &= ~self.edge_mask(z, silhouette)
        return np.where(valid, mm, 0.0).astype(np.uint16)


DEFAULT_SENSOR = DepthSensorModel()


def _surface_depth(true_depth_m: np.ndarray) -> np.ndarray:
    """(H, W) float64 copy with NaN wherever there is no surface (0, negative, inf or NaN)."""
    z = np.asarray(true_depth_m, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"true_depth_m must be an (H, W) array, got shape {z.shape}")
    return np.where(np.isfinite(z) & (z > 0.0), z, np.nan)


def _check_silhouette(silhouette: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    s = np.asarray(silhouette)
    if s.shape != shape:
        raise ValueError(f"silhouette must have the depth image's shape {shape}, got {s.shape}")
    return s.astype(bool)


def _mark_both_sides(edge: np.ndarray, between: np.ndarray, axis: int) -> None:
    """Mark both pixels of each neighbouring pair flagged in ``between`` (one shorter along ``axis``)."""
    if axis == 0:
        edge[1:] |= between
        edge[:-1] |= between
    else:
        edge[:, 1:] |= between
        edge[:, :-1] |= between


def depth_32fc1(depth_mm: np.ndarray) -> np.ndarray:
    """(H, W) float32 metres with NaN where invalid (the ROS ``32FC1`` encoding) of a ``16UC1`` image."""
    return DepthImage.from_array(np.asarray(depth_mm, dtype=np.uint16), "16UC1").metres


# ------------------------------------------------------------------------------------- varied hand proportions
def random_bone_factors(
    rng: np.random.Generator, low: float = BONE_FACTOR_RANGE[0], high: float = BONE_FACTOR_RANGE[1],
    metacarpals: bool = False,
) -> np.ndarray:
    """(5, 4) bone length factors, each uniform in [low, high]: rows thumb, index, middle, ring, pinky
    (MediaPipe's order), columns the bone from the wrist to the finger's first joint (the metacarpal; 1 unless
    ``metacarpals``) and the finger's three bones (see :func:`vary_bone_lengths`). Draws 20 numbers always."""
    if not 0.0 < low <= high:
        raise ValueError(f"need 0 < low <= high, got {low!r}, {high!r}")
    factors = rng.uniform(low, high, size=(5, 4))
    if not metacarpals:
        factors[:, 0] = 1.0
    return factors


def vary_bone_lengths(data: HandModelData, factors: np.ndarray) -> HandModelData:
    """The hand model ``data`` with every finger bone's rest length multiplied by its factor.

    ``factors`` (5, 4), see :func:`random_bone_factors`: per finger (thumb, index, middle, ring, pinky) the
    bone wrist -> first joint, then the three bones: for the fingers MCP -> PIP, PIP -> DIP, DIP -> tip; for
    the thumb CMC -> MCP, MCP -> IP, IP -> tip (the model's joints 1-3 of the finger and its tip keypoint).

    How (rest pose, the model's canonical frame, metres; shape parameters keep their meaning around the new
    template):

    1. Rest joints J = j_regressor @ v_template. Each joint moves so that its offset from its parent joint is
       scaled by the bone's factor: D_j = D_parent + (f - 1) (J_j - J_parent), D_wrist = 0. Bone directions
       do not change, so the model's rest bone frames stay valid.
    2. Each vertex moves by the linear blend, with its skinning weights, of the displacements of the joints it
       follows. The last bone of a finger has no joint at its end; the displacement that the vertices
       following the finger's last joint take from it is D_j plus (f - 1) times their distance beyond the
       joint along the bone (joint -> tip keypoint), i.e. the distal bone is stretched along its axis.
    3. Joints and keypoints stay consistent with the mesh: every joint's regressor row gets a zero-sum
       correction (two affine combinations of the nearest vertices, ``data.affine_regressor``) so that it
       regresses exactly the moved joint from the new vertices; every keypoint row likewise regresses the
       keypoint moved with the displacement of the joint that carries it (a tip: along its scaled distal bone).
       A keypoint that is a single mesh vertex (``tip_vertices``, MANO's tips) keeps its row: it is that
       vertex. The posed keypoints are thus carried by the same joints and stay on the deformed mesh.
    """
    f = np.asarray(factors, dtype=np.float64)
    if f.shape != (5, 4) or not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValueError(f"factors must be a (5, 4) array of positive numbers, got shape {f.shape}")
    v = np.asarray(data.v_template, dtype=np.float64)
    j_reg = np.asarray(data.j_regressor, dtype=np.float64)
    kp_reg = np.asarray(data.keypoint_regressor, dtype=np.float64)
    joints, kps = j_reg @ v, kp_reg @ v
    disp = np.zeros((16, 3))  # joint displacements
    stretch = np.zeros(16)  # per last joint: f - 1 of its distal bone
    axes = np.zeros((16, 3))  # per last joint: unit direction joint -> tip keypoint
    for mp_finger, mano_finger in enumerate(MP_TO_MANO_FINGER):
        parent = 0
        for level in range(3):
            j = 1 + 3 * mano_finger + level
            disp[j] = disp[parent] + (f[mp_finger, level] - 1.0) * (joints[j] - joints[parent])
            parent = j
        bone = kps[TIP_KEYPOINTS[mp_finger]] - joints[parent]
        axes[parent] = bone / np.linalg.norm(bone)
        stretch[parent] = f[mp_finger, 3] - 1.0

    def field(points: np.ndarray, carriers: np.ndarray) -> np.ndarray:
        """Displacement (P, C, 3) of points (P, 3) when carried rigidly by each of the joints ``carriers``."""
        beyond = np.clip(np.einsum("pcx,cx->pc", points[:, None] - joints[carriers], axes[carriers]), 0.0, None)
        return disp[carriers][None] + (stretch[carriers] * beyond)[..., None] * axes[carriers][None]

    all_joints = np.arange(16)
    new_v = v + np.einsum("vj,vjx->vx", np.asarray(data.weights, dtype=np.float64), field(v, all_joints))
    new_j_reg = np.stack([_retarget(j_reg[j], new_v, joints[j] + disp[j]) for j in range(16)])
    kp_targets = kps + field(kps, KEYPOINT_BONE)[np.arange(len(kps)), np.arange(len(kps))]
    single_vertex = {int(TIP_KEYPOINTS[i]) for i in range(5) if int(data.tip_vertices[i]) >= 0}
    new_kp_reg = np.stack([kp_reg[k] if k in single_vertex else _retarget(kp_reg[k], new_v, kp_targets[k])
                           for k in range(len(kps))])
    return dataclasses.replace(data, v_template=new_v, j_regressor=new_j_reg, keypoint_regressor=new_kp_reg)


def _retarget(row: np.ndarray, vertices: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``row`` plus a zero-sum correction so that ``row @ vertices`` is ``target`` (row sums are kept)."""
    current = row @ vertices
    if np.linalg.norm(target - current) < 1e-12:
        return row.copy()
    return row + affine_regressor(vertices, target) - affine_regressor(vertices, current)


def person_hand_data(
    side: str, hand_length_m: float, rng: np.random.Generator, mano_dir: str | None = None
) -> HandModelData:
    """A hand of one person: the side's model with a random shape (baked into the template: the returned
    model's zero shape is this hand), random bone factors (:func:`random_bone_factors`), scaled so that
    ``model_hand_length`` is ``hand_length_m``. Raises RuntimeError if the rendered length would differ."""
    data = load_hand_model_data(side, mano_dir)
    betas = np.clip(rng.normal(0.0, 0.5, size=data.num_shape), -1.0, 1.0)
    data = dataclasses.replace(data, v_template=data.v_template + data.shapedirs @ betas)
    data = at_hand_length(vary_bone_lengths(data, random_bone_factors(rng)), hand_length_m)
    actual = model_hand_length(data)
    if abs(actual - hand_length_m) > 1e-6:
        raise RuntimeError(f"the varied {side} hand is {actual:.4f} m long, wanted {hand_length_m:.4f} m")
    return data


# ------------------------------------------------------------------------------------------------------ types
@dataclass(frozen=True, eq=False)
class RgbdFrame:
    """One RGB-D frame (colour and depth registered, same size and camera).

    rgb: (H, W, 3) uint8. depth_mm: (H, W) uint16 millimetres, 0 = invalid (the sensor model's output,
    ``16UC1``). true_depth_m: (H, W) float32 metres, exact (noise-free) z of the nearest surface, 0 = no
    surface. hand_mask: (H, W) bool, pixels covered by a hand. hands: the visible hands' truth (right first),
    ``HandTruth.hand_length_m`` being the rendered hand's length.
    """

    index: int
    stamp_s: float
    rgb: np.ndarray
    depth_mm: np.ndarray
    true_depth_m: np.ndarray
    hand_mask: np.ndarray
    hands: tuple[HandTruth, ...]

    def hand(self, side: str) -> HandTruth | None:
        """The truth of the ``side`` hand in this frame, or None when it is not visible."""
        return next((h for h in self.hands if h.side == side), None)

    def depth_32fc1(self) -> np.ndarray:
        """(H, W) float32 metres, NaN where invalid: ``depth_mm`` in the ROS ``32FC1`` encoding."""
        return depth_32fc1(self.depth_mm)


@dataclass(frozen=True, eq=False)
class RgbdSequence(FrameSequence[RgbdFrame]):
    """An RGB-D video of one person's hands seen by one static registered pinhole RGB-D camera.

    frames: in time order at ``fps``; camera: the intrinsics of colour and depth; seed / version: what generated
    it (same seed and version: identical frames); hands: 1 (the right hand) or 2 (both); sensor: the depth
    model applied; hand_length_m: the person's hand length (both hands), metres.
    """

    frames: tuple[RgbdFrame, ...]
    camera: CameraModel
    fps: float
    seed: int
    version: int
    hands: int
    sensor: DepthSensorModel
    hand_length_m: float


# ------------------------------------------------------------------------------------------------------ motion
def _ease_through(keys: list[tuple[float, float]], t: np.ndarray) -> np.ndarray:
    """Values at times ``t`` of a curve through (time, value) keys, eased (smoothstep) from key to key: zero
    velocity at every key, never beyond its two keys' values; constant before the first and after the last."""
    times = np.array([k[0] for k in keys])
    values = np.array([k[1] for k in keys])
    t = np.clip(np.asarray(t, dtype=np.float64), times[0], times[-1])
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(keys) - 2)
    s = (t - times[i]) / (times[i + 1] - times[i])
    s = s * s * (3.0 - 2.0 * s)
    return values[i] + s * (values[i + 1] - values[i])


def depth_keys(duration_s: float) -> list[tuple[float, float]]:
    """(time s, depth m) keys of the hands' centre for a sequence of ``duration_s`` seconds.

    0-1.5 s: between 0.60 and 0.72 m. Then out to 1.5 m, in to 0.3 m and back to 0.6 m, each leg lasting in
    proportion to its distance, laid out over ``max(duration_s, 8 s)``: a shorter sequence is the start of the
    8 s schedule (so its speeds stay below 0.6 m/s); a longer one sweeps more slowly.
    """
    end = max(float(duration_s), FULL_DURATION_S)
    keys = list(CALM_KEYS)
    legs = np.abs(np.diff([keys[-1][1], *SWEEP_DEPTHS_M]))
    times = CALM_S + (end - CALM_S) * np.cumsum(legs) / legs.sum()
    keys += [(float(t), z) for t, z in zip(times, SWEEP_DEPTHS_M, strict=True)]
    return keys


def depth_schedule(t_s: np.ndarray | float, duration_s: float) -> np.ndarray:
    """Depth (m) of the hands' centre at times ``t_s`` (seconds) of a ``duration_s`` sequence (see
    :func:`depth_keys`); smooth (continuous velocity), peak speed 0.55 m/s for 8 s."""
    return _ease_through(depth_keys(duration_s), np.asarray(t_s, dtype=np.float64))


def _hand_keys(side: str, hands: int, num_keys: int, rng: np.random.Generator) -> list[KeyState]:
    """Finger-pose and orientation keys of one hand (the centre's depth comes from :func:`depth_schedule`).

    One hand: near the image centre, a little below it (so that a close hand's fingertips stay in view). Two
    hands: the right hand on the image left, the left hand on the image right, about 0.5 of the depth apart.
    """
    poses = sorted(key_poses())
    x0 = 0.0 if hands == 1 else (-0.26 if side == "right" else 0.26)
    keys, pose = [], "open"
    for i in range(num_keys):
        j = rng.uniform(-1.0, 1.0, size=5)
        if i:
            pose = str(rng.choice([p for p in poses if p != pose]))
        keys.append(KeyState(
            u=i / (num_keys - 1), pose=pose,
            centre=(x0 + (0.05 if hands == 1 else 0.02) * j[0], 0.05 + 0.02 * j[1], 1.0),
            roll=0.25 * j[2], pitch=0.25 * j[3], yaw=0.25 * j[4],
        ))
    return keys


def hand_states(side: str, hands: int, num_frames: int, rng: np.random.Generator) -> list[HandState]:
    """The state of one hand in each of ``num_frames`` frames at :data:`FPS` (position in normalised image
    coordinates and depth from :func:`depth_schedule`, turns in radians, anatomical finger angles)."""
    duration = num_frames / FPS
    num_keys = max(2, int(np.ceil(duration / KEY_SPACING_S)) + 1)
    keys = _hand_keys(side, hands, num_keys, rng)
    times = np.arange(num_frames) / FPS
    depths = depth_schedule(times, duration)
    states = []
    for t, z in zip(times, depths, strict=True):
        s = interpolate(keys, float(t / duration))
        turn = [float(np.clip(a, -MAX_TURN_RAD, MAX_TURN_RAD)) for a in (s.roll, s.pitch, s.yaw)]
        states.append(HandState(s.anatomical, np.array([s.centre[0], s.centre[1], z]), *turn))
    return states


# --------------------------------------------------------------------------------------------------- rendering
def wall_depth(camera: CameraModel, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 z (m) of a plane facing the camera, tilted a few degrees, z in [2.0, 2.5] m everywhere.

    The plane is z (1 + a x + b y) = c in normalised coordinates (x, y) = (X/Z, Y/Z); a, b keep
    |a x| + |b y| <= 0.08 over the image and c in [2.18, 2.28] m."""
    w, h = camera.width, camera.height
    xs = (np.arange(w) - camera.cx) / camera.fx
    ys = (np.arange(h) - camera.cy) / camera.fy
    c = rng.uniform(2.18, 2.28)
    a = rng.uniform(-1.0, 1.0) * 0.04 / max(abs(xs[0]), abs(xs[-1]), 1e-9)
    b = rng.uniform(-1.0, 1.0) * 0.04 / max(abs(ys[0]), abs(ys[-1]), 1e-9)
    z = c / (1.0 + a * xs[None, :] + b * ys[:, None])
    return np.clip(z, *WALL_DEPTH_RANGE_M).astype(np.float32)  # the clip only guards rounding


def make_rgbd_sequence(
    num_frames: int = 240, width: int = 640, height: int = 480, seed: int = 0, hands: int = 1,
    sensor: DepthSensorModel = DEFAULT_SENSOR, progress: bool = False,
) -> RgbdSequence:
    """Render ``num_frames`` RGB-D frames (30 fps) of one person's hands in front of a wall.

    hands: 1 (the right hand, near the image centre) or 2 (the right hand on the image left, the left hand on
    the image right, as a person facing the camera). Palms towards the camera (roll, pitch, yaw within 19
    degrees); the fingers move between open, pointing, partly closed and pinch poses (a new pose every 0.8 s);
    the hands' centre follows :func:`depth_schedule` (0.5-0.8 m for 1.5 s, then out to 1.5 m, in to 0.3 m,
    back to 0.6 m). One hand length (uniform 0.16-0.21 m) per sequence; each hand's bone lengths varied by
    :func:`person_hand_data`. Colour: the procedural background with shaded hands, blurred, noisy (as
    :func:`~.sequence.make_sequence`). Depth: the renderer's z-buffer over a tilted wall at 2.0-2.5 m, then
    ``sensor.apply`` (default :class:`DepthSensorModel`) with the hand mask as silhouette.
    ``seed``: everything random (scene, person, motion; the sensor's noise from an independent stream, so a
    different sensor does not change the colour frames). Same arguments, identical arrays. Needs the prepared
    hand model (``python -m hand_mesh_ros.handmodel.prepare``).
    """
    for name, value, low in (("num_frames", num_frames, 2), ("width", width, 64), ("height", height, 48)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if hands not in (1, 2) or isinstance(hands, bool):
        raise ValueError(f"hands must be 1 or 2, got {hands!r}")
    if not isinstance(sensor, DepthSensorModel):
        raise TypeError(f"sensor must be a DepthSensorModel, got {type(sensor).__name__}")
    scene_seed, sensor_seed = np.random.SeedSequence(int(seed)).spawn(2)
    rng, sensor_rng = np.random.default_rng(scene_seed), np.random.default_rng(sensor_seed)
    camera = CameraModel.pinhole(int(width), int(height), FOCAL_PX_AT_640 * width / 640.0)
    background = make_background(int(width), int(height), rng)
    wall = wall_depth(camera, rng)
    hand_length = float(rng.uniform(*HAND_LENGTH_RANGE_M))
    tone = rng.uniform(0.85, 1.05)
    sides = ("right",) if hands == 1 else ("right", "left")
    posed: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    lengths: dict[str, float] = {}
    shading: dict[str, Shading] = {}
    for side in sides:
        model = HandModel(person_hand_data(side, hand_length, rng))
        lengths[side] = model_hand_length(model.data)
        states = hand_states(side, hands, int(num_frames), rng)
        verts, joints, rots = pose_hands(model, states, np.zeros(model.num_shape), base_rotation(model))
        posed[side] = (verts, joints, model.faces, rots)
        color = tuple(round(min(255.0, c * tone * rng.uniform(0.97, 1.03))) for c in SKIN_RGB)
        shading[side] = Shading(color=color)  # type: ignore[arg-type]
    frames = []
    for i in range(int(num_frames)):
        truth, meshes = [], []
        for side in sides:
            verts, joints, faces, rots = posed[side]
            truth.append(HandTruth(side=side, joints=joints[i], joints_px=project(camera, joints[i]),
                                   vertices=verts[i].astype(np.float32), faces=faces,
                                   hand_length_m=lengths[side], wrist_rotation=rots[i]))
            meshes.append((verts[i], faces, shading[side]))
        rgb, true_depth, mask = render_scene(meshes, camera, background, rng, far_depth=wall)
        depth_mm = sensor.apply(true_depth, sensor_rng, silhouette=mask)
        frames.append(RgbdFrame(i, i / FPS, rgb, depth_mm, true_depth, mask, tuple(truth)))
        if progress and (i % 20 == 0 or i == num_frames - 1):
            print(f"synthetic rgbd: rendered frame {i + 1}/{num_frames}", file=sys.stderr)
    return RgbdSequence(tuple(frames), camera, FPS, int(seed), RGBD_VERSION, hands, sensor, hand_length)


# ------------------------------------------------------------------------------------------------------- cache
SENSOR_FIELDS = tuple(f.name for f in dataclasses.fields(DepthSensorModel))


def rgbd_cache_path(cache_dir: Path | str, num_frames: int, width: int, height: int, seed: int,
                    hands: int = 1) -> Path:
    """The .npz path for these parameters (and the current :data:`RGBD_VERSION`)."""
    return Path(cache_dir) / f"rgbd_v{RGBD_VERSION}_h{hands}_n{num_frames}_{width}x{height}_s{seed}.npz"


def save_rgbd_sequence(seq: RgbdSequence, path: Path | str) -> None:
    """Write ``seq`` to ``path`` (.npz, compressed, written to a temporary name and renamed).

    The colour frames, masks and truth are stored by the RGB sequence's :func:`~.cache.save_sequence` (so the
    file also loads as a :class:`~.types.SyntheticSequence`); the depth arrays are added to the same archive:
    ``depth_mm`` (N, H, W) uint16, the exact depth as the first frame's image plus, per frame, the pixels that
    differ from it (bit-packed mask and float32 values: the wall is static), and the RGB-D parameters.
    """
    path = Path(path)
    syn = SyntheticSequence(
        tuple(SyntheticFrame(f.index, f.stamp_s, f.rgb, f.hand_mask, f.hands) for f in seq), seq.camera, seq.fps,
        seq.seed, VERSION)
    base = seq[0].true_depth_m.astype(np.float32)
    changed = np.stack([f.true_depth_m != base for f in seq])
    extra = {
        "rgbd_version": np.array(seq.version),
        "rgbd_hands": np.array(seq.hands),
        "rgbd_hand_length": np.array(seq.hand_length_m),
        "rgbd_sensor": np.array([float(getattr(seq.sensor, n)) for n in SENSOR_FIELDS]),
        "depth_mm": np.stack([f.depth_mm for f in seq]),
        "true_depth_base": base,
        "true_depth_changed_bits": np.packbits(changed, axis=-1),
        "true_depth_changed": np.concatenate([f.true_depth_m[c] for f, c in zip(seq, changed, strict=True)]
                                             ).astype(np.float32),
    }
    tmp = path.with_name(path.name + ".part.npz")
    try:
        save_sequence(syn, tmp)
        # level 1: as small as the default level for these noisy arrays, and several times faster
        with zipfile.ZipFile(tmp, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, value in extra.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load_rgbd_sequence(path: Path | str) -> RgbdSequence:
    """Read a sequence written by :func:`save_rgbd_sequence`. ValueError for a file of another version (or
    not an RGB-D file), KeyError for a missing array, OSError for an unreadable file."""
    path = Path(path)
    syn = load_sequence(path)
    with np.load(path) as z:
        if "rgbd_version" not in z:
            raise ValueError(f"{path} is not an RGB-D sequence")
        version = int(z["rgbd_version"])
        if version != RGBD_VERSION:
            raise ValueError(f"{path} holds RGB-D version {version}, this code makes version {RGBD_VERSION}")
        hands, hand_length = int(z["rgbd_hands"]), float(z["rgbd_hand_length"])
        values = z["rgbd_sensor"]
        sensor = DepthSensorModel(**{n: type(getattr(DepthSensorModel(), n))(v)
                                     for n, v in zip(SENSOR_FIELDS, values, strict=True)})
        depth_mm = z["depth_mm"]
        base = z["true_depth_base"]
        changed = np.unpackbits(z["true_depth_changed_bits"], axis=-1, count=syn.width).astype(bool)
        changed_values = z["true_depth_changed"]
    if len(depth_mm) != len(syn) or changed_values.size != int(changed.sum()):
        raise ValueError(f"{path}: the depth arrays do not match the frames")
    frames, start = [], 0
    for f, d, c in zip(syn, depth_mm, changed, strict=True):
        true_depth = base.copy()
        n = int(c.sum())
        true_depth[c] = changed_values[start:start + n]
        start += n
        frames.append(RgbdFrame(f.index, f.stamp_s, f.rgb, d, true_depth, f.hand_mask, f.hands))
    return RgbdSequence(tuple(frames), syn.camera, syn.fps, syn.seed, version, hands, sensor, hand_length)


def load_or_make_rgbd_sequence(
    cache_dir: Path | str | None = None, num_frames: int = 240, width: int = 640, height: int = 480,
    seed: int = 0, hands: int = 1, progress: bool = True,
) -> RgbdSequence:
    """The cached RGB-D sequence for these parameters (default sensor), rendering and caching it first when
    the file is absent, unreadable, of another version or made with another sensor.

    ``cache_dir`` None: ``hand_mesh_ros.paths.cache_dir("synthetic")``; the file is :func:`rgbd_cache_path`.
    ``progress``: messages on stderr (every 20 frames while rendering).
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir("synthetic")
    folder.mkdir(parents=True, exist_ok=True)
    path = rgbd_cache_path(folder, num_frames, width, height, seed, hands)
    if path.is_file():
        try:
            seq = load_rgbd_sequence(path)
            if seq.sensor == DEFAULT_SENSOR and seq.hands == hands and len(seq) == num_frames:
                return seq
            reason = "made with other parameters"
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            reason = str(exc)
        if progress:
            print(f"synthetic rgbd: ignoring unusable cache {path} ({reason})", file=sys.stderr)
    if progress:
        print(f"synthetic rgbd: rendering {num_frames} frames {width}x{height} (seed {seed}, {hands} hand(s)) "
              f"-> {path}", file=sys.stderr)
    t0 = time.perf_counter()
    seq = make_rgbd_sequence(num_frames, width, height, seed, hands, progress=progress)
    save_rgbd_sequence(seq, path)
    if progress:
        print(f"synthetic rgbd: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return seq
