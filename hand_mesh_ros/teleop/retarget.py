"""Drive robot hands with dex-retargeting from our hands: one retargeter per side, fed by that side's track.

``dex-retargeting`` (PyPI, MIT) is an optional dependency: install ``dex-retargeting==0.5.0 six`` beside the
project's CPU torch. Without it, :class:`HandRetargeter` raises :class:`TeleopUnavailableError` naming the
install command; nothing else in the package imports it.

Per side, the most confident hand of that side drives the robot. Frames whose confidence is below
``min_confidence`` are skipped (counted by reason); when the driving track changes or the side had no hand for
longer than ``reset_after_s``, the retargeter restarts from the robot's neutral pose (its warm start would
otherwise pull the new hand towards the old one's pose). dex-retargeting's own low-pass filter is off by
default (``low_pass_alpha`` -1): our hands are already filtered without lag, and its filter adds about
(1 - alpha) / alpha frames of lag (4 frames with the bundled configs' 0.2).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigurationError
from .frames import Side, check_joints, check_rotation, palm_frame, retargeting_keypoints

ROBOTS = ("leap_hand", "allegro_hand", "ability_hand", "inspire_hand", "schunk_svh_hand", "shadow_hand")
RETARGETING_TYPES = ("vector", "dexpilot")
SKIP_REASONS = {
    "low_confidence": "the hand's confidence is below min_confidence",
    "side_not_driven": "no robot is configured for this side",
    "second_hand_of_side": "another hand of the same side is more confident and drives the robot",
}
INSTALL_HINT = "pip install dex-retargeting==0.5.0 six (beside the project's CPU torch)"

if TYPE_CHECKING:
    from ..reconstruction.types import ReconstructedHand


class TeleopUnavailableError(ConfigurationError):
    """dex-retargeting (or a robot description it needs) is not available."""


@dataclass(frozen=True, eq=False)
class TeleopHand:
    """What retargeting needs of one published hand: ``joints`` (21, 3) m and ``wrist_rotation`` (3, 3,
    camera <- model root) in the camera frame, side, track id, confidence in [0, 1], image stamp (s)."""

    side: Side
    track_id: int
    joints: np.ndarray
    wrist_rotation: np.ndarray
    confidence: float
    stamp_s: float

    def __post_init__(self) -> None:
        if self.side not in ("right", "left"):
            raise ValueError(f"side must be 'right' or 'left', got {self.side!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if check_joints(self.joints).shape != (21, 3):
            raise ValueError(f"joints must be one hand's (21, 3) metres, got {np.shape(self.joints)}")
        check_rotation(self.wrist_rotation)

    @classmethod
    def from_reconstructed(cls, hand: ReconstructedHand, stamp_s: float) -> TeleopHand:
        """The retargeting input of a :class:`~hand_mesh_ros.reconstruction.types.ReconstructedHand` (held ones
        too: they carry their last confident result's confidence) seen at ``stamp_s``."""
        return cls(hand.handedness, hand.track_id, hand.joints, hand.wrist_rotation, hand.confidence, stamp_s)


@dataclass(frozen=True, eq=False)
class RobotCommand:
    """One side's retargeted robot joint positions: ``positions`` (N,) rad or m in the order of
    ``joint_names`` (the URDF's names), for the hand with ``track_id`` seen at ``stamp_s``."""

    side: Side
    track_id: int
    stamp_s: float
    joint_names: tuple[str, ...]
    positions: np.ndarray


@dataclass
class RetargetStep:
    """The commands of one frame and the hands skipped, by reason (keys of :data:`SKIP_REASONS`)."""

    commands: list[RobotCommand] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def _import_dex():  # type: ignore[no-untyped-def]
    try:
        from dex_retargeting.constants import HandType, RetargetingType, RobotName, get_default_config_path
        from dex_retargeting.retargeting_config import RetargetingConfig
    except ImportError as exc:
        raise TeleopUnavailableError(f"teleoperation needs dex-retargeting, which is not importable ({exc}); "
                                     f"{INSTALL_HINT}") from exc
    return RetargetingConfig, get_default_config_path, RobotName, RetargetingType, HandType


def config_path(robot: str, side: Side, retargeting_type: str = "vector") -> Path:
    """The dex-retargeting config for ``robot``: a bundled robot name (:data:`ROBOTS`, e.g. "leap_hand") for
    this side and type, or a path to a YAML file. Raises ValueError / TeleopUnavailableError."""
    if retargeting_type not in RETARGETING_TYPES:
        raise ValueError(f"retargeting_type must be one of {RETARGETING_TYPES}, got {retargeting_type!r}")
    if robot.endswith((".yml", ".yaml")):
        path = Path(robot).expanduser()
        if not path.is_file():
            raise ValueError(f"robot config {path} does not exist")
        return path
    if robot not in ROBOTS:
        raise ValueError(f"robot must be one of {ROBOTS} or a .yml path, got {robot!r}")
    _, default_path, robot_name, kind, hand_type = _import_dex()
    path = default_path(robot_name[robot.removesuffix("_hand").replace("schunk_svh", "svh")],
                        kind[retargeting_type], hand_type[side])
    if path is None or not Path(path).is_file():
        raise TeleopUnavailableError(f"dex-retargeting has no {retargeting_type} config for {robot} ({side})")
    return Path(path)


class _SideRetargeter:
    def __init__(self, side: Side, path: Path, urdf_dir: Path, low_pass_alpha: float) -> None:
        config_cls = _import_dex()[0]
        # Retargeting needs the kinematics only; URDFs shipped without their meshes (as ../shared/robots) would
        # log one warning per missing mesh file on every start.
        logging.getLogger("dex_retargeting.yourdfpy").setLevel(logging.ERROR)
        config_cls.set_default_urdf_dir(str(urdf_dir))
        try:
            config = config_cls.load_from_file(path, override={"low_pass_alpha": low_pass_alpha})
            self.seq = config.build()
        except (ValueError, OSError, RuntimeError) as exc:
            raise TeleopUnavailableError(f"cannot build the {side} retargeter from {path} with URDFs in "
                                         f"{urdf_dir}: {exc}") from exc
        opt = self.seq.optimizer
        self.kind = str(opt.retargeting_type)
        self.indices = np.asarray(opt.target_link_human_indices)
        self.joint_names = tuple(self.seq.joint_names)
        self.track_id: int | None = None
        self.last_stamp: float | None = None

    def reset(self) -> None:
        self.seq.reset()
        if self.seq.filter is not None:
            self.seq.filter.reset()
        self.track_id = None

    def reference(self, keypoints: np.ndarray) -> np.ndarray:
        """The retargeter's input from (21, 3) keypoints: the indexed keypoints (position type) or the vectors
        between them (vector and DexPilot types; rows 0 and 1 of the indices are origins and tips)."""
        if self.kind == "POSITION":
            return keypoints[self.indices]
        return keypoints[self.indices[1]] - keypoints[self.indices[0]]


class HandRetargeter:
    """Retargets our hands to one robot hand per side.

    ``robot``: a bundled dex-retargeting robot (:data:`ROBOTS`) or a config YAML path (then ``sides`` must
    hold one side); ``urdf_dir``: the folder the configs' ``urdf_path`` entries are relative to (e.g.
    ``../shared/robots``); ``sides``: which sides drive a robot; ``palm_in_root_frames``: per side, the palm
    frame in the hand model's root frame (:func:`model_palm_frames`); ``min_confidence``: hands below it are
    skipped; ``reset_after_s``: a side without a hand for longer restarts; ``low_pass_alpha``: dex-retargeting's
    output filter (-1 off, else in (0, 1]). Raises TeleopUnavailableError when dex-retargeting, a config or a
    URDF is missing, ValueError for bad settings.
    """

    def __init__(self, robot: str, urdf_dir: Path | str, palm_in_root_frames: dict[str, np.ndarray],
                 sides: Sequence[Side] = ("right", "left"), retargeting_type: str = "vector",
                 min_confidence: float = 0.5, reset_after_s: float = 0.5, low_pass_alpha: float = -1.0) -> None:
        if not sides or any(s not in ("right", "left") for s in sides) or len(set(sides)) != len(sides):
            raise ValueError(f"sides must be distinct 'right' / 'left', got {sides!r}")
        if robot.endswith((".yml", ".yaml")) and len(sides) != 1:
            raise ValueError("a config file describes one hand: give exactly one side with it")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if not reset_after_s > 0:
            raise ValueError(f"reset_after_s must be positive seconds, got {reset_after_s}")
        if not (low_pass_alpha == -1.0 or 0.0 < low_pass_alpha <= 1.0):
            raise ValueError(f"low_pass_alpha must be -1 (off) or in (0, 1], got {low_pass_alpha}")
        folder = Path(urdf_dir).expanduser()
        if not folder.is_dir():
            raise TeleopUnavailableError(f"URDF folder {folder} does not exist (dex-retargeting's configs name "
                                         "robot URDFs relative to it)")
        missing = [s for s in sides if s not in palm_in_root_frames]
        if missing:
            raise ValueError(f"palm_in_root_frames lacks {missing}")
        self.robot = robot
        self.min_confidence = float(min_confidence)
        self.reset_after_s = float(reset_after_s)
        self._palm = {s: np.asarray(palm_in_root_frames[s], dtype=np.float64) for s in sides}
        self._sides = {s: _SideRetargeter(s, config_path(robot, s, retargeting_type), folder, low_pass_alpha)
                       for s in sides}

    @property
    def sides(self) -> tuple[Side, ...]:
        return tuple(self._sides)

    def joint_names(self, side: Side) -> tuple[str, ...]:
        """The robot joint names of ``side`` (the URDF's), in the order of :attr:`RobotCommand.positions`."""
        return self._sides[side].joint_names

    def reset(self) -> None:
        for r in self._sides.values():
            r.reset()

    def step(self, hands: Sequence[TeleopHand], stamp_s: float) -> RetargetStep:
        """Retarget one frame's hands (all taken at ``stamp_s``): per driven side, the most confident hand
        at or above ``min_confidence``; the others are counted in ``skipped``."""
        out = RetargetStep()

        def skip(reason: str, n: int = 1) -> None:
            out.skipped[reason] = out.skipped.get(reason, 0) + n

        best: dict[str, TeleopHand] = {}
        for hand in hands:
            if hand.side not in self._sides:
                skip("side_not_driven")
            elif hand.confidence < self.min_confidence:
                skip("low_confidence")
            elif hand.side not in best or hand.confidence > best[hand.side].confidence:
                if hand.side in best:
                    skip("second_hand_of_side")
                best[hand.side] = hand
            else:
                skip("second_hand_of_side")
        for side, r in self._sides.items():
            hand = best.get(side)
            if hand is None:
                if r.last_stamp is not None and stamp_s - r.last_stamp > self.reset_after_s:
                    r.reset()
                    r.last_stamp = None
                continue
            if r.track_id != hand.track_id or (r.last_stamp is not None
                                               and not 0 <= stamp_s - r.last_stamp <= self.reset_after_s):
                r.reset()
            keypoints = retargeting_keypoints(hand.joints, hand.wrist_rotation, side, self._palm[side])
            q = np.asarray(r.seq.retarget(r.reference(keypoints)), dtype=np.float64)
            r.track_id, r.last_stamp = hand.track_id, float(stamp_s)
            out.commands.append(RobotCommand(side, hand.track_id, float(stamp_s), r.joint_names, q))
        return out


def model_palm_frames(mano_dir: str = "") -> dict[str, np.ndarray]:
    """Per side, the palm frame in the root frame of the hand model the reconstruction uses (MANO from
    ``mano_dir`` when set, else the open model), measured on the model at rest."""
    from ..handmodel.factory import load_hand_model

    frames = {}
    for side in ("right", "left"):
        model = load_hand_model(side, mano_dir=mano_dir or None)
        rest = np.asarray(model.outputs(model(np.zeros(3)))[0].joints, dtype=np.float64)
        frames[side] = palm_frame(rest)  # the root at identity: the palm frame in the root frame
    return frames
