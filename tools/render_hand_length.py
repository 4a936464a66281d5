#!/usr/bin/env python3
"""Draw how to measure hand length (the ``hand_length_m`` parameter) on the hand model -> docs/images.

The right open hand model, flat, fingers together, palm towards the viewer, at its default length; the wrist
crease (the plane through the wrist keypoint across the hand's long axis) and the tip of the middle finger are
marked, with the measured length between them, exactly as ``handmodel.hand_length.model_hand_length`` defines it.

Usage: python tools/render_hand_length.py [--out docs/images/hand_length.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.handmodel.factory import load_hand_model_data
from hand_mesh_ros.handmodel.hand_length import DEFAULT_HAND_LENGTH_M, at_hand_length, model_hand_length
from hand_mesh_ros.handmodel.limits import pose_from_anatomical
from hand_mesh_ros.handmodel.model import HandModel
from hand_mesh_ros.handmodel.rotations import matrix_to_axis_angle
from hand_mesh_ros.render import Shading, render_mesh
from hand_mesh_ros.synthetic.sequence import base_rotation

WIDTH, HEIGHT, FOCAL, DISTANCE = 440, 460, 2000.0, 1.2
INK = (40, 40, 40)
ADDUCTION = (-0.12, 0.0, 0.22, 0.1)  # rad per MCP (index, middle, pinky, ring): the asset's fingers are spread
ACCENT = (30, 90, 200)  # BGR


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs/images/hand_length.png")
    args = ap.parse_args(argv)
    data = at_hand_length(load_hand_model_data("right"), DEFAULT_HAND_LENGTH_M)
    model = HandModel(data)
    rot = base_rotation(model)  # fingers up, palm towards the camera
    together = np.zeros((15, 3))  # anatomical angles (twist, flexion, abduction), MANO joints 1-15
    together[[0, 3, 6, 9], 2] = ADDUCTION  # index, middle, pinky, ring MCPs: fingers closed up
    hand_pose = pose_from_anatomical(data.bone_frames, together, "right")[None]
    out = model(matrix_to_axis_angle(rot)[None], hand_pose)
    verts, kp = out.vertices[0], out.keypoints[0]
    shift = np.array([0.0, 0.0, DISTANCE]) - 0.5 * (kp[0] + kp[12])
    verts, kp = verts + shift, kp + shift
    k = np.array([[FOCAL, 0.0, WIDTH / 2 + 35], [0.0, FOCAL, HEIGHT / 2], [0.0, 0.0, 1.0]])
    img = render_mesh(verts, model.faces, k, WIDTH, HEIGHT, background=np.full((HEIGHT, WIDTH, 3), 245, np.uint8),
                      shading=Shading()).rgb
    img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)

    def px(p: np.ndarray) -> tuple[int, int]:
        q = k @ p
        return round(float(q[0] / q[2])), round(float(q[1] / q[2]))

    axis = (kp[12] - kp[0]) / np.linalg.norm(kp[12] - kp[0])
    rest_v = data.v_template
    rest_kp = data.keypoint_regressor @ rest_v
    rest_axis = (rest_kp[12] - rest_kp[0]) / np.linalg.norm(rest_kp[12] - rest_kp[0])
    tip_vertex = int(np.argmax((rest_v - rest_kp[0]) @ rest_axis))
    tip = kp[0] + axis * float((verts[tip_vertex] - kp[0]) @ axis)
    across = np.cross(axis, np.array([0.0, 0.0, 1.0]))
    across /= np.linalg.norm(across)
    if px(kp[0] + across)[0] > px(kp[0])[0]:
        across = -across  # point to the image left, away from the thumb of this right palm
    ruler = 0.075  # the measurement drawn beside the hand, metres to the side of its axis
    for centre, half in ((kp[0], 0.045), (tip, 0.02)):
        cv2.line(img, px(centre - half * across), px(centre + (ruler + 0.01) * across), ACCENT, 2, cv2.LINE_AA)
    start, end = px(kp[0] + ruler * across), px(tip + ruler * across)
    cv2.arrowedLine(img, start, end, ACCENT, 2, cv2.LINE_AA, tipLength=0.05)
    cv2.arrowedLine(img, end, start, ACCENT, 2, cv2.LINE_AA, tipLength=0.05)
    length_mm = 1000 * model_hand_length(data)
    font = cv2.FONT_HERSHEY_SIMPLEX
    mid = ((start[0] + end[0]) // 2 - 70, (start[1] + end[1]) // 2)
    cv2.putText(img, f"{length_mm:.0f} mm", mid, font, 0.55, INK, 1, cv2.LINE_AA)
    cv2.putText(img, "tip of the middle finger", (end[0] - 10, end[1] - 12), font, 0.45, INK, 1, cv2.LINE_AA)
    cv2.putText(img, "wrist crease nearest the palm", (start[0] - 50, start[1] + 22), font, 0.45, INK, 1,
                cv2.LINE_AA)
    cv2.putText(img, "palm side, hand flat, fingers together", (12, HEIGHT - 12), font, 0.45, INK, 1, cv2.LINE_AA)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
