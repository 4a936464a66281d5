"""Key poses and smooth hand trajectories of the synthetic sequence.

The default sequence's motion is a list of key states (time, finger pose, where the hand is, how it is turned)
eased from one to the next with a smoothstep, so positions, orientations and finger angles change continuously
like a hand filmed at 30 fps. The named test motions of :data:`MOTIONS` (for temporal filtering: fast
sideways motion, motion in depth, a dead stop, slow drift) are closed-form functions of time instead, so their
speeds are exact. Finger poses are anatomical angles (15, 3) per MANO joint 1-15 (twist, flexion,
abduction; radians; see ``handmodel.limits``). Orientation angles are applied in the camera optical frame
to a base orientation with the fingers pointing up in the image and the palm facing the camera.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def key_poses() -> dict[str, np.ndarray]:
    """Named finger poses, anatomical angles (15, 3), MANO joint order 1-15 (index, middle, pinky, ring,
    thumb; each MCP/CMC, PIP/MCP, DIP/IP)."""
    open_palm = np.zeros((15, 3))
    open_palm[[0, 6, 9], 2] = (0.12, -0.15, -0.07)  # fingers slightly spread
    open_palm[12, 2] = -0.15
    point = np.zeros((15, 3))
    for f in (1, 2, 3):  # middle, pinky, ring curled
        point[3 * f : 3 * f + 3, 1] = (1.2, 1.4, 0.8)
    point[12:15, 1] = (0.4, 0.5, 0.6)  # thumb folded over the curled fingers
    point[12, 2] = 0.4
    partial = np.zeros((15, 3))
    for f in range(4):
        partial[3 * f : 3 * f + 3, 1] = (0.55, 0.7, 0.4)
    partial[12:15, 1] = (0.2, 0.25, 0.3)
    partial[12, 2] = 0.2
    pinch = np.zeros((15, 3))
    pinch[0:3, 1] = (0.75, 0.8, 0.5)
    pinch[3:12, 1] = np.tile((0.2, 0.3, 0.2), 3)
    pinch[12:15, 1] = (0.35, 0.35, 0.5)
    pinch[12, 2] = 0.55
    return {"open": open_palm, "point": point, "partial": partial, "pinch": pinch}


@dataclass(frozen=True)
class KeyState:
    """One key of a hand's motion.

    u: time in [0, 1] over the hand's visible span; pose: a name of :func:`key_poses`;
    centre: the hand's centre (about mid-palm) as normalised image coordinates (x/z, y/z) and depth z (m);
    roll: rotation about the optical axis (rad, positive turns the fingers towards image right);
    pitch / yaw: tilt of the palm about the camera x / y axes (rad).
    """

    u: float
    pose: str
    centre: tuple[float, float, float]
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0


@dataclass(frozen=True)
class HandState:
    """The interpolated state of one hand at one instant (anatomical pose (15, 3) rad, centre (3,) with
    normalised x, y and depth z in metres, roll / pitch / yaw rad)."""

    anatomical: np.ndarray
    centre: np.ndarray
    roll: float
    pitch: float
    yaw: float


def smoothstep(t: np.ndarray | float) -> np.ndarray | float:
    """3t^2 - 2t^3 on [0, 1] (zero slope at both ends)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _hermite(values: np.ndarray, times: np.ndarray, i: int, t: float) -> np.ndarray:
    """Cubic Hermite interpolation on segment i at t in [0, 1], Catmull-Rom tangents (zero at the ends)."""

    def tangent(j: int) -> np.ndarray:
        if j == 0 or j == len(times) - 1:
            return np.zeros_like(values[j])
        return (values[j + 1] - values[j - 1]) / (times[j + 1] - times[j - 1])

    dt = times[i + 1] - times[i]
    h00, h10 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t
    h01, h11 = -2 * t**3 + 3 * t**2, t**3 - t**2
    return h00 * values[i] + h10 * dt * tangent(i) + h01 * values[i + 1] + h11 * dt * tangent(i + 1)


def interpolate(keys: list[KeyState], u: float) -> HandState:
    """The hand's state at normalised time ``u`` in [0, 1].

    Position and orientation follow a Catmull-Rom spline through the keys (continuous velocity); finger
    angles are eased between neighbouring key poses with a smoothstep (never leaving the range of the two
    poses, so never leaving the joint limits).
    """
    if not keys:
        raise ValueError("a trajectory needs at least one key")
    if any(b.u <= a.u for a, b in itertools.pairwise(keys)):
        raise ValueError("key times must increase strictly")
    poses = key_poses()
    for k in keys:
        if k.pose not in poses:
            raise ValueError(f"unknown key pose {k.pose!r}; known: {sorted(poses)}")
    if len(keys) == 1:
        k = keys[0]
        return HandState(poses[k.pose].copy(), np.asarray(k.centre, dtype=np.float64), k.roll, k.pitch, k.yaw)
    times = np.array([k.u for k in keys], dtype=np.float64)
    u = float(np.clip(u, times[0], times[-1]))
    i = min(int(np.searchsorted(times, u, side="right")) - 1, len(keys) - 2)
    t = (u - times[i]) / (times[i + 1] - times[i])
    motion = np.array([[*k.centre, k.roll, k.pitch, k.yaw] for k in keys], dtype=np.float64)
    m = _hermite(motion, times, i, t)
    s = float(smoothstep(t))
    anatomical = (1.0 - s) * poses[keys[i].pose] + s * poses[keys[i + 1].pose]
    return HandState(anatomical, m[:3], float(m[3]), float(m[4]), float(m[5]))


def default_keys(side: str, rng: np.random.Generator) -> list[KeyState]:
    """The scripted motion of one hand over its visible span, jittered a little by ``rng``.

    Right hand: the whole sequence; alone in the first half near the image centre (coming close, going far),
    then on the image left (where a person facing the camera holds it). Left hand: the second half, on the
    image right.
    """
    if side == "right":
        script = [
            (0.0, "open", (0.00, 0.02, 0.50), 0.0, 0.0, 0.0),
            (0.16, "point", (0.05, 0.00, 0.42), 0.15, 0.1, -0.12),
            (0.33, "partial", (-0.04, 0.03, 0.52), -0.12, -0.08, 0.15),
            (0.5, "pinch", (-0.15, 0.02, 0.60), 0.08, 0.1, 0.1),
            (0.7, "open", (-0.22, 0.03, 0.62), -0.12, -0.08, -0.12),
            (0.85, "point", (-0.20, 0.00, 0.70), 0.08, 0.05, 0.08),
            (1.0, "partial", (-0.22, 0.03, 0.62), 0.0, 0.1, 0.1),
        ]
    elif side == "left":
        script = [
            (0.0, "open", (0.24, 0.02, 0.70), 0.1, 0.0, 0.0),
            (0.35, "point", (0.21, 0.00, 0.60), 0.18, 0.1, -0.15),
            (0.7, "pinch", (0.25, 0.04, 0.72), -0.08, -0.12, 0.12),
            (1.0, "open", (0.22, 0.02, 0.60), 0.12, 0.08, 0.0),
        ]
    else:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    keys = []
    for u, pose, (x, y, z), roll, pitch, yaw in script:
        j = rng.uniform(-1.0, 1.0, size=6)
        keys.append(
            KeyState(
                u=u,
                pose=pose,
                centre=(x + 0.02 * j[0], y + 0.02 * j[1], z * (1.0 + 0.05 * j[2])),
                roll=roll + 0.08 * j[3],
                pitch=pitch + 0.08 * j[4],
                yaw=yaw + 0.08 * j[5],
            )
        )
    return keys


# Test motions for temporal filtering: one right hand, a closed-form function of time (seconds). Speeds are
# metric (m/s) in the camera frame.
MOTIONS = {
    "default": "the default scripted sequence: a right hand, joined by a left hand for the second half",
    "lateral": "sideways sweeps at 0.5 m depth, up to 1.0 m/s, the hand opening and closing",
    "depth": "in-depth sweeps between 0.35 and 0.8 m, up to 0.55 m/s, the hand turning",
    "stop": "still, then sideways at 1.0 m/s, then a dead stop (the wrist stands still from one frame to the "
            "next) and still again",
    "slow": "slow drift (up to 0.06 m/s) in a small loop at 0.5 m, the fingers flexing slowly",
}
STOP_AT_S = 0.8  # "stop": when the hand stops dead, seconds
STOP_SPEED_M_S = 1.0  # "stop": the speed it stops from


def _blend(a: str, b: str, s: float) -> np.ndarray:
    poses = key_poses()
    return (1.0 - s) * poses[a] + s * poses[b]


def motion_state(motion: str, t: float, side: str = "right") -> HandState:
    """The state at ``t`` seconds of a hand in one of the named test motions of :data:`MOTIONS` (not "default",
    which is key-framed: :func:`default_keys`); a left hand moves as the right hand's mirror image (image x and
    the turns about the optical and vertical axes negated). Raises ValueError for an unknown name or side."""
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    state = _right_state(motion, t)
    if side == "right":
        return state
    centre = state.centre * np.array([-1.0, 1.0, 1.0])
    return HandState(state.anatomical, centre, -state.roll, state.pitch, -state.yaw)


def _right_state(motion: str, t: float) -> HandState:
    if motion == "lateral":
        amp, omega = 0.14, 1.0 / 0.14  # metres, rad/s: peak speed amp * omega = 1.0 m/s
        z = 0.5
        x = -amp * np.cos(omega * t)
        s = 0.5 - 0.5 * np.cos(2.0 * np.pi * 0.7 * t)
        return HandState(_blend("open", "partial", s), np.array([x / z, 0.02, z]), 0.0, 0.0, 0.0)
    if motion == "depth":
        omega = 2.0 * np.pi / 2.6  # one sweep out and back in 2.6 s: peak 0.225 * omega = 0.54 m/s
        z = 0.575 - 0.225 * np.cos(omega * t)
        roll = 0.45 * np.sin(2.0 * np.pi * 0.4 * t)
        yaw = 0.35 * np.sin(2.0 * np.pi * 0.3 * t)
        return HandState(_blend("open", "point", 0.5 - 0.5 * np.cos(1.5 * t)),
                         np.array([0.03 * np.sin(1.1 * t), 0.02, z]), float(roll), 0.0, float(yaw))
    if motion == "stop":
        # still until 0.4 s, a smoothstep speed-up to 1 m/s by 0.6 s, constant speed, dead stop at STOP_AT_S
        z, t0, t1 = 0.5, 0.4, 0.6
        v = STOP_SPEED_M_S
        ramp = 0.5 * v * (t1 - t0)  # distance covered while speeding up
        x0 = -(ramp + v * (STOP_AT_S - t1)) / 2.0  # centred on the optical axis
        if t <= t0:
            d = 0.0
        elif t <= t1:  # integral of v * smoothstep((t - t0) / (t1 - t0))
            u = (t - t0) / (t1 - t0)
            d = v * (t1 - t0) * (u**3 - 0.5 * u**4)
        else:
            d = ramp + v * (min(t, STOP_AT_S) - t1)
        return HandState(key_poses()["open"], np.array([(x0 + d) / z, 0.02, z]), 0.0, 0.0, 0.0)
    if motion == "slow":
        r, omega = 0.02, 3.0  # metres, rad/s: 0.06 m/s
        z = 0.5 + 0.01 * np.sin(0.5 * omega * t)
        return HandState(_blend("open", "partial", 0.25 - 0.25 * np.cos(0.8 * t)),
                         np.array([r * np.sin(omega * t) / z, (0.01 + r * np.cos(omega * t)) / z, z]),
                         float(0.1 * np.sin(0.7 * t)), 0.0, 0.0)
    raise ValueError(f"unknown motion {motion!r}; known: {sorted(MOTIONS)} (default is key-framed)")
