"""Decode the palm detector's raw outputs (SSD boxes + logits) and merge overlaps with weighted NMS.

All coordinates here are normalised to the square network input ([0, 1] over 192 px).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .anchors import PALM_INPUT_SIZE, ssd_anchors

NUM_KEYPOINTS = 7
SCORE_CLIP = 100.0
NMS_IOU = 0.3
# Logits below logit(min_score) minus this margin cannot reach min_score and are skipped before the exact test.
_LOGIT_MARGIN = 1e-3


@dataclass(frozen=True)
class RawPalm:
    """A palm in normalised network-input coordinates: box (xmin, ymin, xmax, ymax), keypoints (7, 2)."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray


def decode_palms(raw_boxes: np.ndarray, raw_scores: np.ndarray, min_score: float = 0.5) -> list[RawPalm]:
    """Decode one image's outputs: raw_boxes (2016, 18), raw_scores (2016,) or (2016, 1) logits.

    Box centre and keypoints are offsets from the anchor centre in 192-px units; sizes are in 192-px
    units too. Scores are clipped to +-100 before the sigmoid. Returns palms with score >= min_score, best
    first, after weighted non-maximum suppression at IoU 0.3.
    """
    anchors = ssd_anchors()
    n = len(anchors)
    logits = np.asarray(raw_scores).reshape(n)
    # Only anchors whose logit can reach min_score go through the (float64) sigmoid and box decoding.
    cand = np.flatnonzero(logits >= _logit_floor(min_score))
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits[cand].astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    passed = scores >= min_score
    keep = cand[passed]
    if keep.size == 0:
        return []
    raw_boxes = np.asarray(raw_boxes).reshape(n, -1)[keep].astype(np.float64)
    r = raw_boxes / PALM_INPUT_SIZE
    a = anchors[keep]
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = r[:, 4 : 4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + a[:, None, :]
    return weighted_nms(scores[passed], boxes, kps)


def _logit_floor(min_score: float) -> float:
    """A logit below which the clipped sigmoid score is certainly below ``min_score``."""
    if min_score <= 0.0:
        return -math.inf
    p = min(float(min_score), 1.0 - 1e-12)  # sigmoid rounds to 1.0 only for logits above ~36
    return min(math.log(p / (1.0 - p)), 30.0) - _LOGIT_MARGIN


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (xmin, ymin, xmax, ymax) box against (N, 4) boxes; 0 where they do not intersect."""
    ix = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    iy = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((ix > 0) & (iy > 0), ix * iy, 0.0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou_threshold: float = NMS_IOU
) -> list[RawPalm]:
    """Weighted NMS: each kept palm is the score-weighted mean of all palms overlapping the best one.

    The kept score is the best palm's score. Overlap means IoU strictly above ``iou_threshold``.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[RawPalm] = []
    while order.size:
        best = order[0]
        iou = box_iou(boxes[best], boxes[order])
        group = order[(iou > iou_threshold) | (order == best)]
        wts = scores[group]
        total = wts.sum()
        box = (boxes[group] * wts[:, None]).sum(axis=0) / total
        kps = (keypoints[group] * wts[:, None, None]).sum(axis=0) / total
        out.append(RawPalm(float(scores[best]), box, kps))
        order = order[(iou <= iou_threshold) & (order != best)]
    return out
