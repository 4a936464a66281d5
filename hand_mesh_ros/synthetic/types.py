"""Typed values of a synthetic sequence: rendered frames plus their ground truth.

Frames: the camera optical frame (x right, y down, z forward), metres; pixel coordinates have their origin at
the centre of the top-left pixel (the renderer's and OpenCV's convention).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from ..geometry.camera import CameraModel


@dataclass(frozen=True, eq=False)
class HandTruth:
    """One visible hand in one frame.

    side: 'right' or 'left' (the person's hand, as MediaPipe's handedness after un-mirroring).
    joints: (21, 3) float64 metres, camera optical frame, MediaPipe keypoint order and definitions (the
    hand model's keypoints). joints_px: (21, 2) float64 pixel projections of ``joints``.
    vertices: (V, 3) float32 metres, camera frame; faces: (F, 3) int32 (the hand model's triangles).
    hand_length_m: this hand's length, wrist crease to middle fingertip (``handmodel.hand_length``): the size
    the reconstruction needs for depth. wrist_rotation: (3, 3) the hand model's root joint orientation (camera
    <- root frame, MANO convention of this side), as ``ReconstructedHand.wrist_rotation``.
    """

    side: str
    joints: np.ndarray
    joints_px: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    hand_length_m: float
    wrist_rotation: np.ndarray


@dataclass(frozen=True, eq=False)
class SyntheticFrame:
    """One rendered frame: rgb (H, W, 3) uint8, hand_mask (H, W) bool (pixels covered by a hand), the time
    stamp in seconds and the visible hands (right hand first when both are present)."""

    index: int
    stamp_s: float
    rgb: np.ndarray
    hand_mask: np.ndarray
    hands: tuple[HandTruth, ...]

    def hand(self, side: str) -> HandTruth | None:
        """The truth of the ``side`` hand in this frame, or None when it is not visible."""
        for h in self.hands:
            if h.side == side:
                return h
        return None


F = TypeVar("F")


class FrameSequence(Generic[F]):
    """A sequence's frames as a container: ``len``, iteration, indexing, and the camera's image size. For the
    dataclasses below, which hold ``frames`` and ``camera``."""

    frames: tuple[F, ...]
    camera: CameraModel

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[F]:
        return iter(self.frames)

    def __getitem__(self, i: int) -> F:
        return self.frames[i]

    @property
    def width(self) -> int:
        return self.camera.width

    @property
    def height(self) -> int:
        return self.camera.height


@dataclass(frozen=True, eq=False)
class SyntheticSequence(FrameSequence[SyntheticFrame]):
    """A short video of rendered hands seen by one static pinhole camera.

    frames: in time order, ``fps`` frames per second; camera: the intrinsics the frames were rendered with;
    seed / version / motion: what generated it (same seed, version and motion: identical frames; motion: a
    name of :data:`~.motion.MOTIONS`).
    """

    frames: tuple[SyntheticFrame, ...]
    camera: CameraModel
    fps: float
    seed: int
    version: int
    motion: str = "default"
