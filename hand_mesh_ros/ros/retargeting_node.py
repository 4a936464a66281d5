"""Retargeting node: our hands (hand_mesh_ros/HandArray) -> robot hand joint states through dex-retargeting.

Subscribes ``hands``; per driven side publishes ``<robot>_<side>/joint_states`` (sensor_msgs/JointState: the
URDF's joint names, positions in rad or m, stamped with the image's stamp) and ``<robot>_<side>/wrist_pose``
(geometry_msgs/PoseStamped: the driving hand's wrist pose in the camera frame, MANO root convention of that side;
the palm frame dex-retargeting uses is this rotation times a constant per side, see ``teleop/frames.py``).

dex-retargeting is optional: without it (or without the robot URDFs) the node fails to configure with a message
naming the fix; the rest of the package never imports it. A HandArray that drives no robot (no hand, or only
hands below ``min_confidence``) is counted in diagnostics with its reason; so is every skipped hand.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import JointState

from hand_mesh_ros.msg import Hand, HandArray

from ..errors import ConfigurationError
from ..teleop import SKIP_REASONS, HandRetargeter, TeleopHand, model_palm_frames
from . import params
from .diagnostics import NodeHealth
from .hand_msgs import matrix_from_quaternion
from .managed_node import ManagedNode
from .node_config import RetargetingNodeConfig
from .node_main import run
from .qos import RESULTS
from .stamp_sync import stamp_seconds

SIDES = {Hand.HANDEDNESS_RIGHT: "right", Hand.HANDEDNESS_LEFT: "left"}


def robot_label(robot: str) -> str:
    """The topic prefix of a robot setting: the bundled name, or a config file's stem without its side."""
    stem = robot.rsplit("/", 1)[-1]
    for suffix in (".yml", ".yaml", "_right", "_left"):
        stem = stem.removesuffix(suffix)
    return stem


def teleop_hand(hand: Any, stamp_s: float) -> TeleopHand | None:
    """A HandArray entry as :class:`TeleopHand` (None when its handedness is unknown)."""
    side = SIDES.get(int(hand.handedness))
    if side is None:
        return None
    q = hand.wrist_pose.orientation
    rot = matrix_from_quaternion(np.array([q.x, q.y, q.z, q.w]))
    joints = np.array([[p.x, p.y, p.z] for p in hand.joints], dtype=np.float64)
    return TeleopHand(side, int(hand.id), joints, rot, float(hand.confidence), stamp_s)  # type: ignore[arg-type]


class RetargetingNode(ManagedNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("hand_retargeting", **kwargs)
        params.declare(self, RetargetingNodeConfig, configured=lambda: self.configured,
                       on_change=self._parameters_changed)
        self._retargeter: HandRetargeter | None = None
        self._reread = False

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.cfg = params.read(self, RetargetingNodeConfig)
            if not self.cfg.urdf_dir:
                raise ConfigurationError("urdf_dir is empty: set it to the folder the robot config's urdf_path is "
                                         "relative to (e.g. a clone of dex-urdf's robots/hands)")
            sides = ("right", "left") if self.cfg.sides == "both" else (self.cfg.sides,)
            self._retargeter = HandRetargeter(self.cfg.robot, self.cfg.urdf_dir, model_palm_frames(), sides,
                                              self.cfg.retargeting_type, self.cfg.min_confidence,
                                              self.cfg.reset_after_s, self.cfg.low_pass_alpha)  # type: ignore[arg-type]
        except (ConfigurationError, ValueError) as exc:  # dex-retargeting missing, URDFs missing, bad settings
            self.get_logger().error(f"cannot configure retargeting: {exc}")
            return TransitionCallbackReturn.FAILURE
        except Exception as exc:  # a bug: say so with the traceback, stay unconfigured
            self.get_logger().error(f"cannot configure retargeting: unexpected {type(exc).__name__}: {exc}\n"
                                    f"{traceback.format_exc()}")
            return TransitionCallbackReturn.FAILURE
        label = robot_label(self.cfg.robot)
        for side in self._retargeter.sides:
            self.add_output(f"joints_{side}", JointState, f"{label}_{side}/joint_states", RESULTS)
            self.add_output(f"wrist_{side}", PoseStamped, f"{label}_{side}/wrist_pose", RESULTS)
        self._health = NodeHealth(self, "retargeting")
        self._health.extra["robot"] = self.cfg.robot
        self.configured = True
        self.get_logger().info(f"retargeting to {self.cfg.robot} ({', '.join(self._retargeter.sides)}, "
                               f"{self.cfg.retargeting_type})")
        return TransitionCallbackReturn.SUCCESS

    def _parameters_changed(self) -> None:
        self._reread = True

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        assert self._retargeter is not None
        self._retargeter.reset()
        self.subscribe(HandArray, "hands", self._on_hands, RESULTS)
        self.announce_active()
        return result

    def release(self) -> None:
        self._retargeter = None

    def _on_hands(self, msg: Any) -> None:
        assert self._health is not None and self._retargeter is not None
        self._health.frame_in()
        t0 = time.monotonic()
        if self._reread:
            self._reread = False
            cfg = params.read(self, RetargetingNodeConfig)
            self._retargeter.min_confidence, self._retargeter.reset_after_s = cfg.min_confidence, cfg.reset_after_s
        try:
            stamp = stamp_seconds(msg)
            hands = []
            for h in msg.hands:
                try:
                    hand = teleop_hand(h, stamp)
                except ValueError as exc:  # non-finite joints, a zero quaternion, a confidence out of [0, 1]
                    self._health.error("bad_hand", f"hand {h.id}: {exc}")
                    continue
                if hand is None:
                    self._health.event("unknown_handedness", f"hand {h.id} has no side")
                else:
                    hands.append(hand)
            step = self._retargeter.step(hands, stamp)
            for reason, n in step.skipped.items():
                self._health.event(reason, SKIP_REASONS[reason], n)
            by_id = {int(h.id): h for h in msg.hands}
            for cmd in step.commands:
                joints = JointState()
                joints.header = msg.header
                joints.name = list(cmd.joint_names)
                joints.position = [float(v) for v in cmd.positions]
                self._pubs[f"joints_{cmd.side}"].publish(joints)
                pose = PoseStamped()
                pose.header = msg.header
                pose.pose = by_id[cmd.track_id].wrist_pose  # the hand that drove this command
                self._pubs[f"wrist_{cmd.side}"].publish(pose)
            if step.commands:
                self._health.frame_out(time.monotonic() - t0)
            else:
                why = ", ".join(f"{n} {r}" for r, n in step.skipped.items()) or "no hand in the message"
                self._health.dropped(1, "no_hand_to_retarget", why)
        except Exception as exc:  # never take the node down for one message
            self._health.error("internal", repr(exc))


def main() -> int:
    return run(RetargetingNode)


if __name__ == "__main__":
    raise SystemExit(main())
