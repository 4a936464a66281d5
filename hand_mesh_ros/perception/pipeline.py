"""HandPerception: palm detection + hand landmarks with MediaPipe-style tracking between frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..settings import refusing_removed
from .landmark_model import LandmarkModel
from .palm_model import PalmModel
from .tracker import DetectionSchedule, HandTracker
from .types import HandObservation


@refusing_removed({"detect_every": "renamed detect_every_n (with detection_mode, as in the ROS nodes)"})
@dataclass(frozen=True)
class PerceptionConfig:
    """Settings of :class:`HandPerception`.

    variant: "full" or "lite" models; backend: "onnxruntime" (CPU, default), "torch" (reference), "tensorrt" (GPU)
    or "auto" (TensorRT when it can run here, else ONNX Runtime); device: "auto", "cpu" or "cuda[:N]"; precision: of
    TensorRT engines ("fp16", "fp32", "int8"); max_hands: hands to detect/track; min_detection_score: palm score
    threshold; min_presence: landmark presence threshold below which a hand is dropped (and re-detected);
    detection_mode / detect_every_n: when the palm detector runs (:class:`~.tracker.DetectionSchedule`; default:
    on every frame while fewer than max_hands are tracked, as MediaPipe does); threads: ONNX Runtime intra-op
    threads (default min(2, CPUs)); allow_convert: convert the models on first use instead of raising when they
    are not in the cache; overlap_networks: in tracking mode, run the landmark network on the tracked hands in a
    worker thread while the palm detector runs on the calling thread (same results; lower latency on two or more
    cores).
    """

    variant: str = "full"
    backend: str = "onnxruntime"
    device: str = "auto"
    precision: str = "fp16"
    max_hands: int = 2
    min_detection_score: float = 0.5
    min_presence: float = 0.5
    detection_mode: str = "on_demand"
    detect_every_n: int = 1
    threads: int | None = None
    models_dir: Path | None = None
    allow_convert: bool = False
    landmark_border: int = cv2.BORDER_REPLICATE
    overlap_networks: bool = True

    def __post_init__(self) -> None:
        if self.max_hands < 1:
            raise ValueError(f"max_hands must be >= 1, got {self.max_hands}")
        DetectionSchedule(self.detection_mode, self.detect_every_n)  # raises for a bad mode or period
        for name in ("min_detection_score", "min_presence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


class HandPerception:
    """Detect and track hands in RGB frames: the two MediaPipe networks and a :class:`~.tracker.HandTracker`.

    In tracking mode the region of each hand in the next frame comes from its landmarks in this frame; the
    palm detector runs as ``detection_mode`` says. Observations carry the track id of their hand.
    """

    def __init__(self, config: PerceptionConfig | None = None, **overrides: object) -> None:
        cfg = config or PerceptionConfig()
        if overrides:
            cfg = PerceptionConfig(**{**cfg.__dict__, **overrides})  # type: ignore[arg-type]
        self.config = cfg
        common = {
            "variant": cfg.variant,
            "backend": cfg.backend,
            "device": cfg.device,
            "precision": cfg.precision,
            "threads": cfg.threads,
            "models_dir": cfg.models_dir,
            "allow_convert": cfg.allow_convert,
        }
        self.palm_model = PalmModel(**common)  # type: ignore[arg-type]
        self.landmark_model = LandmarkModel(border=cfg.landmark_border, **common)  # type: ignore[arg-type]
        self.tracker = HandTracker(self.palm_model, self.landmark_model, max_hands=cfg.max_hands,
                                   min_detection_score=cfg.min_detection_score, min_presence=cfg.min_presence,
                                   detection_mode=cfg.detection_mode, detect_every_n=cfg.detect_every_n,
                                   overlap_networks=cfg.overlap_networks)

    def reset(self) -> None:
        """Forget tracked hands (the next frame runs the palm detector)."""
        self.tracker.reset()

    def process(self, image_rgb: np.ndarray, static: bool = False) -> list[HandObservation]:
        """Hands in one HxWx3 uint8 RGB frame (C-contiguous preferred; other layouts are copied).

        ``static=True`` treats the frame as an unrelated image: the palm detector always runs and
        tracking state is neither used nor updated. Raises TypeError/ValueError for invalid images.
        """
        if static:
            return self.tracker.detect(image_rgb)
        return self.tracker.step(image_rgb).hands
