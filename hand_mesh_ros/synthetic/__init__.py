"""Synthetic test video: rendered hand-model hands over a procedural background, with exact ground truth.

Typical use::

    from hand_mesh_ros.synthetic import load_or_make_sequence
    seq = load_or_make_sequence()            # 60 frames 640x480, cached as .npz in cache_dir("synthetic")
    for frame in seq:                        # SyntheticFrame: rgb, hand_mask, hands (HandTruth per hand)
        result = reconstructor.process_frame(frame.rgb, seq.camera, frame.stamp_s)
"""

from .cache import load_or_make_sequence, load_sequence, save_sequence
from .scoring import HandMatch, match_hands
from .sequence import VERSION, make_sequence
from .types import HandTruth, SyntheticFrame, SyntheticSequence

__all__ = [
    "VERSION",
    "HandMatch",
    "HandTruth",
    "SyntheticFrame",
    "SyntheticSequence",
    "load_or_make_sequence",
    "load_sequence",
    "make_sequence",
    "match_hands",
    "save_sequence",
]
