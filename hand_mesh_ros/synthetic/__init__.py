"""Synthetic test video: rendered hand-model hands over a procedural background, with exact ground truth.

Typical use::

    from hand_mesh_ros.synthetic import load_or_make_sequence
    seq = load_or_make_sequence()            # 60 frames 640x480, cached as .npz in cache_dir("synthetic")
    for frame in seq:                        # SyntheticFrame: rgb, hand_mask, hands (HandTruth per hand)
        result = reconstructor.process_frame(frame.rgb, seq.camera, frame.stamp_s)

    from hand_mesh_ros.synthetic import load_or_make_rgbd_sequence
    rgbd = load_or_make_rgbd_sequence()     # 240 RGB-D frames: rgb, depth_mm (16UC1), true_depth_m, hands
"""

from .cache import load_or_make_sequence, load_sequence, save_sequence
from .rgbd import (
    RGBD_VERSION,
    DepthSensorModel,
    RgbdFrame,
    RgbdSequence,
    depth_schedule,
    load_or_make_rgbd_sequence,
    load_rgbd_sequence,
    make_rgbd_sequence,
    person_hand_data,
    random_bone_factors,
    save_rgbd_sequence,
    vary_bone_lengths,
)
from .scoring import HandMatch, match_hands
from .sequence import VERSION, make_sequence
from .types import HandTruth, SyntheticFrame, SyntheticSequence

__all__ = [
    "RGBD_VERSION",
    "VERSION",
    "DepthSensorModel",
    "HandMatch",
    "HandTruth",
    "RgbdFrame",
    "RgbdSequence",
    "SyntheticFrame",
    "SyntheticSequence",
    "depth_schedule",
    "load_or_make_rgbd_sequence",
    "load_or_make_sequence",
    "load_rgbd_sequence",
    "load_sequence",
    "make_rgbd_sequence",
    "make_sequence",
    "match_hands",
    "person_hand_data",
    "random_bone_factors",
    "save_rgbd_sequence",
    "save_sequence",
    "vary_bone_lengths",
]
