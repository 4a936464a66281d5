"""Where the palm detector looks: the whole image (or a region of interest), plus tiles for small hands.

The palm detector sees the image scaled to 192x192, so a hand narrower than about a tenth of the image's long side
is too small for it at any resolution (the landmark network, which crops each hand, has no such limit). With
``small_hands`` on, the detector also runs on square tiles of the image (or ROI), one per detection frame, taken
in turn, so a static scene is searched completely within a few frames ("auto": 6 tiles on a 4:3 or 16:9 image).

* While no hand is tracked (every frame is a detection frame) and the whole image shows none, the whole image and
  the next tile take turns: a detection frame still costs one palm pass, a hand of ordinary size entering the
  view is found at most one frame later, and a round of 6 tiles takes 12 frames.
* While some hands are tracked and the schedule looks for more (every ``detect_every_n``-th frame), a detection
  frame searches the whole image and, if it found fewer palms than wanted, one tile.
* Tracking frames never pay for it.

``detection_roi``: "x0,y0,x1,y1", normalised to [0, 1] when all four are <= 1, else pixels; empty: the whole
image. Palms are only looked for inside it (hands found there are then tracked anywhere).
"""

from __future__ import annotations

import math

import numpy as np

from .palm_decode import box_iou
from .palm_model import PalmModel
from .types import HandRegion, PalmDetection

SMALL_HAND_MODES = ("off", "auto", "tiles2", "tiles3", "tiles4")
AUTO_TILES = 3  # "auto": tiles per long side (bench_range.py: 3 finds more hands at 4.5 % than 2 or 4, as many at 6 %)
TILE_OVERLAP = 0.25  # each tile is this much wider than its share of the long side
DUPLICATE_IOU = 0.3  # a tile's palm overlapping a palm already found by more than this is the same palm


def tiles_per_side(mode: str) -> int:
    """Tiles along the long side for a ``small_hands`` mode (0: off). Raises ValueError for an unknown mode."""
    if mode not in SMALL_HAND_MODES:
        raise ValueError(f"small_hands must be one of {', '.join(SMALL_HAND_MODES)}, got {mode!r}")
    return 0 if mode == "off" else AUTO_TILES if mode == "auto" else int(mode[len("tiles"):])


def parse_roi(text: str) -> tuple[float, float, float, float] | None:
    """``"x0,y0,x1,y1"`` -> a tuple (None for an empty string). Raises ValueError for anything else, or a box
    with x1 <= x0 or y1 <= y0, or negative values."""
    if not text.strip():
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"detection_roi must be 'x0,y0,x1,y1' (numbers), got {text!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"detection_roi must be four non-negative numbers x0,y0,x1,y1, got {text!r}")
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"detection_roi needs x1 > x0 and y1 > y0, got {text!r}")
    return values


def roi_pixels(roi: tuple[float, float, float, float] | None, width: int, height: int
               ) -> tuple[float, float, float, float]:
    """The ROI in pixels clipped to the image (normalised when all four values are <= 1, else all four are
    pixels); the whole image for None. Raises ValueError when it covers less than a pixel of the image."""
    if roi is None:
        return 0.0, 0.0, float(width), float(height)
    x0, y0, x1, y1 = roi
    if max(roi) <= 1.0:
        x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise ValueError(f"detection_roi {roi} covers less than a pixel of the {width}x{height} image (read as "
                         "pixels: a normalised ROI needs all four values <= 1)")
    return x0, y0, x1, y1


def tile_regions(box: tuple[float, float, float, float], per_side: int) -> list[HandRegion]:
    """Square tiles covering ``box`` (x0, y0, x1, y1 px): ``per_side`` along its long side, each
    ``1 + TILE_OVERLAP`` times its share (at most the short side), as many along the short side as it takes to
    overlap by the same amount; row by row."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    side = min(max(w, h) / per_side * (1.0 + TILE_OVERLAP), min(w, h))
    step = side / (1.0 + TILE_OVERLAP)

    def centres(lo: float, length: float) -> list[float]:
        n = max(1, math.ceil((length - side) / step - 1e-9) + 1)
        if n == 1:
            return [lo + length / 2]
        return list(np.linspace(lo + side / 2, lo + length - side / 2, n))

    return [HandRegion(cx, cy, side, side, 0.0) for cy in centres(y0, h) for cx in centres(x0, w)]


class PalmSearch:
    """Runs a :class:`PalmModel` on the whole image (or ROI) and, with small-hand tiles, on one tile per call."""

    def __init__(self, model: PalmModel, small_hands: str = "off", roi: str = "") -> None:
        self.model = model
        self.per_side = tiles_per_side(small_hands)
        self.roi = parse_roi(roi)
        self._next_tile = 0
        self._tile_turn = False  # alternating mode: the next call may search a tile instead of the whole image

    def reset(self) -> None:
        """Start the tiles over (a new stream)."""
        self._next_tile = 0
        self._tile_turn = False

    def detect(self, image: np.ndarray, min_score: float = 0.5, wanted: int = 1, all_tiles: bool = False,
               alternate: bool = False) -> list[PalmDetection]:
        """Palms in an HxWx3 uint8 RGB image, best first, px. ``wanted``: how many more hands are looked for;
        the tile pass runs only when the whole-image pass found fewer. ``all_tiles``: search every tile now (a
        single photo) instead of the next one in turn (a stream). ``alternate``: one pass per call, the whole
        image and the next tile in turn (the caller tracks nothing, so it calls on every frame)."""
        h, w = image.shape[:2]
        box = roi_pixels(self.roi, w, h)
        if alternate and self.per_side and not all_tiles and self._tile_turn:
            self._tile_turn = False  # this call's turn goes to the next tile
            return self._tile_pass(image, min_score, box, [])
        whole = None
        if self.roi is not None:
            x0, y0, x1, y1 = box
            side = max(x1 - x0, y1 - y0)
            whole = HandRegion((x0 + x1) / 2, (y0 + y1) / 2, side, side, 0.0)
        palms = [p for p in self.model.detect(image, min_score, whole) if _inside(p, box)]
        if alternate:  # a tile takes the next turn only after a whole-image pass that found nothing
            self._tile_turn = not palms
        elif self.per_side and len(palms) < wanted:
            palms = self._tile_pass(image, min_score, box, palms, all_tiles)
        return palms

    def _tile_pass(self, image: np.ndarray, min_score: float, box: tuple[float, float, float, float],
                   palms: list[PalmDetection], all_tiles: bool = False) -> list[PalmDetection]:
        """``palms`` plus those found on the next tile (or on every tile), without duplicates, best first."""
        tiles = tile_regions(box, self.per_side)
        if not all_tiles:
            index = self._next_tile % len(tiles)
            self._next_tile = index + 1
            tiles = [tiles[index]]
        palms = list(palms)
        for tile in tiles:
            for p in self.model.detect(image, min_score, tile):
                if _inside(p, box) and not any(box_iou(p.box, q.box[None])[0] > DUPLICATE_IOU for q in palms):
                    palms.append(p)
        palms.sort(key=lambda p: -p.score)
        return palms


def _inside(palm: PalmDetection, box: tuple[float, float, float, float]) -> bool:
    """Whether the palm's centre lies inside ``box``."""
    cx, cy = (palm.box[0] + palm.box[2]) / 2, (palm.box[1] + palm.box[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
