"""Our whole pipeline's speed beside the official MediaPipe runtime's: the record
``benchmarks/bench_vs_mediapipe.py`` writes and the tables it prints (``tools/update_readme.py`` renders the same
tables into the README).

A record (JSON-ready dict) holds ``cpu`` (model, cores of the machine), ``inputs`` (what was timed), ``threads``
(the thread settings of both) and ``rows``: one per configuration (``mode`` as in :data:`MODE_LABELS`,
``max_hands``, ``cores`` pinned), each with ``ours`` and ``official`` ``{"p50": ms, "p95": ms}`` per frame, the
hands each found (``hands``: ours, official, summed over the timed frames), the number of timed frames
(``samples``) and our per-stage medians in ms (``stages``: detection, landmarks, geometry, fit, other).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

STAGES = ("detection", "landmarks", "geometry", "fit", "other")
# how each mode of a record reads in the tables (static_no_tiles: ours with small_hands off)
MODE_LABELS = {"tracking": "tracking", "static": "static", "static_no_tiles": "static, small_hands off"}


def latency_stats(ms: Sequence[float]) -> dict[str, float]:
    """Median and 95th percentile of per-frame milliseconds: ``{"p50": ..., "p95": ...}``; ValueError if empty."""
    values = np.asarray(ms, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no latencies to summarise")
    return {"p50": float(np.median(values)), "p95": float(np.percentile(values, 95))}


def ratios(row: dict[str, Any]) -> tuple[float, float]:
    """(p50, p95) of ours divided by the official runtime's: below 1 we are faster."""
    return (row["ours"]["p50"] / row["official"]["p50"], row["ours"]["p95"] / row["official"]["p95"])


def format_speed_tables(record: dict[str, Any]) -> str:
    """The comparison and our per-stage split as Markdown tables, every configuration, losses included."""
    lines = [
        "| mode | max_hands | cores | official: landmarks only, p50 / p95 | ours: full mesh result, p50 / p95 "
        "| ratio p50 / p95 | hands found, ours / official |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        r50, r95 = ratios(row)
        verdict = "" if max(r50, r95) <= 1.0 else " (slower)"
        lines.append(
            f"| {MODE_LABELS[row['mode']]} | {row['max_hands']} | {row['cores']} "
            f"| {row['official']['p50']:.1f} / {row['official']['p95']:.1f} ms "
            f"| {row['ours']['p50']:.1f} / {row['ours']['p95']:.1f} ms "
            f"| **{r50:.2f}** / **{r95:.2f}**{verdict} | {row['hands'][0]} / {row['hands'][1]} |")
    lines += ["", "Our time per frame by stage (medians, ms; fit = camera-space fit, refit and mesh):", "",
              "| mode | max_hands | cores | " + " | ".join(STAGES) + " |", "|---|---|---|" + "---|" * len(STAGES)]
    for row in record["rows"]:
        cells = " | ".join(f"{row['stages'][s]:.2f}" for s in STAGES)
        lines.append(f"| {MODE_LABELS[row['mode']]} | {row['max_hands']} | {row['cores']} | {cells} |")
    inputs, threads = record["inputs"], record["threads"]
    lines += ["", f"Machine: {record['cpu']}. Inputs: {inputs['video']} (tracking) and {inputs['photos']} "
              f"(static, each {inputs['repeats']} times), taken in turn with a {inputs['gap_ms']:g} ms pause "
              f"before each timed call; the first {inputs['warmup']} frames of each configuration are not timed. "
              f"Threads: ours {threads['ours']}; official {threads['official']}."]
    return "\n".join(lines)
