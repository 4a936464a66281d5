#!/usr/bin/env python3
"""Generate the synthetic sequence and run the real perception and reconstruction over it; print figures.

Usage: python benchmarks/bench_synthetic.py [--frames 60] [--seed 0] [--no-cache]
Prints: generation time per frame; palm detector + landmarks (HandPerception, tracking mode): hands found
per frame and the landmark error vs the truth projections (px); HandReconstructor with the default
ReconstructionConfig: hands found, 2D error of the published joints, camera-space error (mm, absolute and
wrist-aligned), handedness. Needs converted models (python -m hand_mesh_ros.perception.convert).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.handmodel.hand_length import DEFAULT_HAND_LENGTH_M
from hand_mesh_ros.perception.pipeline import HandPerception
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
from hand_mesh_ros.synthetic import SyntheticSequence, load_or_make_sequence, make_sequence, match_hands


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    a = np.asarray(values)
    return f"mean {a.mean():.2f}, median {np.median(a):.2f}, p95 {np.percentile(a, 95):.2f}, max {a.max():.2f}"


def perception_figures(seq: SyntheticSequence) -> None:
    perception = HandPerception()
    found_frames = both_frames = two_hand_frames = 0
    errors: list[float] = []
    hand_ok = hand_total = 0
    per_frame = []
    for frame in seq:
        obs = perception.process(frame.rgb)
        n_found = 0
        for t in frame.hands:
            best = min(obs, key=lambda o: np.linalg.norm(o.landmarks_px[0, :2] - t.joints_px[0]), default=None)
            if best is not None and np.linalg.norm(best.landmarks_px[0, :2] - t.joints_px[0]) < 60:
                n_found += 1
                errors.append(float(np.linalg.norm(best.landmarks_px[:, :2] - t.joints_px, axis=1).mean()))
                hand_ok += best.handedness == t.side
            hand_total += 1
        per_frame.append(n_found)
        found_frames += n_found == len(frame.hands)
        if len(frame.hands) == 2:
            two_hand_frames += 1
            both_frames += n_found == 2
    print("HandPerception (tracking mode):")
    print(f"  frames with every visible hand found: {found_frames}/{len(seq)}"
          f" ({100 * found_frames / len(seq):.0f} %); two-hand frames with both found: "
          f"{both_frames}/{two_hand_frames}")
    print(f"  hands found per frame: {''.join(str(n) for n in per_frame)}")
    print(f"  landmark error vs truth projection, px (per hand, mean over 21): {stats(errors)}")
    print(f"  handedness correct: {hand_ok}/{len(errors)} found hands")
    static_hands = static_frames = 0
    for f in seq:
        obs = perception.process(f.rgb, static=True)
        hits = sum(
            any(np.linalg.norm(o.landmarks_px[0, :2] - t.joints_px[0]) < 60 for o in obs) for t in f.hands
        )
        static_hands += hits
        static_frames += hits == len(f.hands)
    total = sum(len(f.hands) for f in seq)
    print(f"  static mode (palm detector alone, every frame): hands found {static_hands}/{total} "
          f"({100 * static_hands / total:.0f} %), frames with all hands {static_frames}/{len(seq)}")


def reconstruction_figures(seq: SyntheticSequence, config: ReconstructionConfig, label: str) -> None:
    rec = HandReconstructor(config)
    matches = []
    per_frame = []
    ms = []
    for frame in seq:
        t0 = time.perf_counter()
        res = rec.process_frame(frame.rgb, seq.camera, frame.stamp_s)
        ms.append((time.perf_counter() - t0) * 1e3)
        m = match_hands(frame.hands, res.hands)
        matches.extend(m)
        per_frame.append(sum(x.found for x in m))
    found = [m for m in matches if m.found]
    all_found = sum(n == len(f.hands) for n, f in zip(per_frame, seq, strict=True))
    two = [(n, f) for n, f in zip(per_frame, seq, strict=True) if len(f.hands) == 2]
    print(f"HandReconstructor ({label}):")
    print(f"  frames with every visible hand found: {all_found}/{len(seq)}; two-hand frames with both: "
          f"{sum(n == 2 for n, _ in two)}/{len(two)}; hands found {len(found)}/{len(matches)}")
    print(f"  hands found per frame: {''.join(str(n) for n in per_frame)}")
    print(f"  2D error of published joints, px: {stats([m.px_error for m in found])}")
    print(f"  camera-space error (MPJPE), mm: {stats([m.mm_error for m in found])}")
    print(f"  wrist-aligned error, mm: {stats([m.mm_error_aligned for m in found])}")
    print(f"  handedness correct: {sum(bool(m.handedness_ok) for m in found)}/{len(found)}")
    print(f"  process_frame() time per frame, ms: {stats(ms)}")


def write_strip(seq: SyntheticSequence, path: Path) -> None:
    """Eight evenly spaced frames at half size (PNG, or JPEG for a .jpg path), two rows, frame numbers in the corner."""
    idx = np.linspace(0, len(seq) - 1, 8).round().astype(int)
    tiles = []
    for i in idx:
        tile = cv2.resize(seq[i].rgb, (seq.width // 2, seq.height // 2), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, str(i), (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    sheet = np.concatenate([np.concatenate(tiles[:4], axis=1), np.concatenate(tiles[4:], axis=1)], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if path.suffix.lower() in (".jpg", ".jpeg") else []
    cv2.imwrite(str(path), sheet[:, :, ::-1], params)
    print(f"wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cache", action="store_true", help="render afresh (also times generation)")
    parser.add_argument("--strip", type=Path, default=None,
                        help="also write a contact sheet of 8 frames here, e.g. docs/images/synthetic_sequence.jpg")
    args = parser.parse_args(argv)
    if args.no_cache:
        make_sequence(2, seed=args.seed)  # warm-up: imports, model files
        t0 = time.perf_counter()
        seq = make_sequence(args.frames, seed=args.seed)
        print(f"generation: {(time.perf_counter() - t0) * 1e3 / len(seq):.1f} ms per frame")
    else:
        seq = load_or_make_sequence(num_frames=args.frames, seed=args.seed)
    if args.strip is not None:
        write_strip(seq, args.strip)
    sizes = {h.side: h.hand_length_m for f in seq for h in f.hands}
    length_px = [h.hand_length_m * seq.camera.k[0, 0] / h.joints[0, 2] for f in seq for h in f.hands]
    depths = [h.joints[0, 2] for f in seq for h in f.hands]
    print(f"sequence: {len(seq)} frames {seq.width}x{seq.height}, seed {seq.seed}; true hand length "
          + ", ".join(f"{s} {v * 1e3:.1f} mm" for s, v in sizes.items())
          + f"; hand length {min(length_px):.0f}-{max(length_px):.0f} px; wrist depth {min(depths):.2f}-"
          f"{max(depths):.2f} m")
    perception_figures(seq)
    reconstruction_figures(seq, ReconstructionConfig(), f"default config, hand_length_m {DEFAULT_HAND_LENGTH_M}")
    true_size = float(np.mean(list(sizes.values())))
    reconstruction_figures(seq, ReconstructionConfig(hand_length_m=round(true_size, 4)),
                           f"hand_length_m = true mean hand length {true_size:.4f}")
    reconstruction_figures(seq, ReconstructionConfig(hand_length_m=round(true_size, 4), smoothing=False),
                           "true hand length, smoothing off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
