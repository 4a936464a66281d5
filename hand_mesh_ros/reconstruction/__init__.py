"""The ROS-free reconstruction core: image + camera in, metric hands in the camera frame out."""

from .config import ReconstructionConfig
from .reconstructor import HandReconstructor
from .types import FrameResult, ReconstructedHand, StageTimes

__all__ = ["FrameResult", "HandReconstructor", "ReconstructedHand", "ReconstructionConfig", "StageTimes"]
