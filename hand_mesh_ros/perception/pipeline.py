"""HandPerception: palm detection + hand landmarks with MediaPipe-style tracking between frames."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .image_checks import check_rgb_image
from .landmark_model import LandmarkModel, RegionLandmarks
from .palm_model import PalmModel
from .regions import region_from_landmarks, region_from_palm, region_iou
from .types import HandObservation, HandRegion, PalmDetection

ASSOCIATION_IOU = 0.5


@dataclass(frozen=True)
class PerceptionConfig:
    """Settings of :class:`HandPerception`.

    variant: "full" or "lite" models; backend: "onnxruntime" (CPU, default), "torch" (reference), "tensorrt" (GPU)
    or "auto" (TensorRT when it can run here, else ONNX Runtime); device: "auto", "cpu" or "cuda[:N]"; precision: of
    TensorRT engines ("fp16", "fp32", "int8"); max_hands: hands to detect/track; min_detection_score: palm score
    threshold; min_presence: landmark presence threshold below which a hand is dropped (and re-detected);
    detect_every: while fewer than max_hands are tracked, run the palm detector every ``detect_every``-th frame (1 =
    every frame, as MediaPipe does); threads: ONNX Runtime intra-op threads (default min(2, CPUs)); allow_convert:
    convert the models on first use instead of raising when they are not in the cache; overlap_networks: in tracking
    mode, run the landmark network on the tracked hands in a worker thread while the palm detector runs on the
    calling thread (same results; lower latency on two or more cores).
    """

    variant: str = "full"
    backend: str = "onnxruntime"
    device: str = "auto"
    precision: str = "fp16"
    max_hands: int = 2
    min_detection_score: float = 0.5
    min_presence: float = 0.5
    detect_every: int = 1
    threads: int | None = None
    models_dir: Path | None = None
    allow_convert: bool = False
    landmark_border: int = cv2.BORDER_REPLICATE
    overlap_networks: bool = True

    def __post_init__(self) -> None:
        if self.max_hands < 1:
            raise ValueError(f"max_hands must be >= 1, got {self.max_hands}")
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {self.detect_every}")
        for name in ("min_detection_score", "min_presence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


class HandPerception:
    """Detect and track hands in RGB frames.

    In tracking mode the region of each hand in the next frame comes from its landmarks in this frame;
    the palm detector only runs while fewer than ``max_hands`` hands are tracked (every ``detect_every``
    frames). Regions from new palms that overlap a tracked region (IoU > 0.5) are dropped in favour of the
    tracked one. When both networks run on a frame, the tracked hands' landmarks are computed in a worker
    thread alongside the palm detector (``overlap_networks``).
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
        self._tracked: list[HandRegion] = []
        self._frames_since_detection = 0
        self._worker = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="hand-landmarks")
            if cfg.overlap_networks
            else None
        )

    def reset(self) -> None:
        """Forget tracked hands (the next frame runs the palm detector)."""
        self._tracked = []
        self._frames_since_detection = 0

    def process(self, image_rgb: np.ndarray, static: bool = False) -> list[HandObservation]:
        """Hands in one HxWx3 uint8 RGB frame (C-contiguous preferred; other layouts are copied).

        ``static=True`` treats the frame as an unrelated image: the palm detector always runs and
        tracking state is neither used nor updated. Raises TypeError/ValueError for invalid images.
        """
        image = check_rgb_image(image_rgb, "image_rgb")
        cfg = self.config
        tracked = [] if static else self._tracked
        want_palms = static or (
            len(tracked) < cfg.max_hands
            and (not tracked or self._frames_since_detection + 1 >= cfg.detect_every)
        )
        # Association: a region (palms first, then tracked ones) is dropped when a later one overlaps it, so
        # which tracked regions survive does not depend on the palms: their landmarks can be computed while
        # the palm detector runs.
        kept_tracked = [tracked[k] for k in _surviving(tracked)]
        pending: Future[list[RegionLandmarks]] | None = None
        if want_palms and kept_tracked and self._worker is not None:
            pending = self._worker.submit(self.landmark_model.process_regions, image, kept_tracked)
        palms: list[PalmDetection] = []
        if want_palms:
            palms = self.palm_model.detect(image, cfg.min_detection_score)[: cfg.max_hands]
            self._frames_since_detection = 0
        else:
            self._frames_since_detection += 1
        palm_regions = [region_from_palm(p.box, p.keypoints) for p in palms]
        kept_palms = [k for k in _surviving(palm_regions + tracked) if k < len(palm_regions)]
        candidates: list[tuple[HandRegion, PalmDetection | None]] = [
            (palm_regions[k], palms[k]) for k in kept_palms
        ] + [(r, None) for r in kept_tracked]
        if pending is None:
            results = self.landmark_model.process_regions(image, [c[0] for c in candidates])
        else:
            new = self.landmark_model.process_regions(image, [palm_regions[k] for k in kept_palms])
            results = new + pending.result()
        observations = [
            _observation(region, palm, res)
            for (region, palm), res in zip(candidates, results, strict=False)
            if res.presence >= cfg.min_presence
        ]
        if not static:
            self._tracked = [region_from_landmarks(o.landmarks_px) for o in observations]
        return observations


def _surviving(regions: list[HandRegion]) -> list[int]:
    """Indices of the regions that no later region overlaps with IoU > ASSOCIATION_IOU, in order."""
    return [
        k
        for k, region in enumerate(regions)
        if all(region_iou(region, later) <= ASSOCIATION_IOU for later in regions[k + 1 :])
    ]


def _observation(region: HandRegion, palm: PalmDetection | None, res: RegionLandmarks) -> HandObservation:
    right = res.p_true_right > 0.5
    return HandObservation(
        region=region,
        landmarks_px=res.landmarks_px,
        world_landmarks_m=res.world_m,
        presence=res.presence,
        handedness="right" if right else "left",
        handedness_score=res.p_true_right if right else 1.0 - res.p_true_right,
        palm=palm,
    )
