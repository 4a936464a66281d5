#!/usr/bin/env python3
"""GPU benchmark: per-stage and end-to-end latency (one and two hands, 640x480) and batched throughput.

1. End to end: the ROS-free HandReconstructor on the generated 640x480 sequence (frames with one right hand,
   then both hands), every frame as a camera would give it, three passes; per-stage medians (palm detection,
   landmarks, geometry, fit) and the total, for tracking frames (no palm detection) and detection frames.
2. Batched throughput through landmarks + fit: B hand crops cut from one frame on the device, the landmark
   engine, and one batched camera-space fit (numpy on the CPU, warm-started as in tracking) of B copies of that
   frame's hands.

Prints the device, driver, CUDA and TensorRT versions with the figures (also written as JSON with --out).

Usage:
    python benchmarks/bench_gpu.py [--precision fp16|fp32|int8] [--batch 64] [--passes 3]
    python benchmarks/bench_gpu.py --cpu        # the same on ONNX Runtime + numpy (no GPU needed)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from bench_fit import timed  # (median, minimum) seconds per call

from hand_mesh_ros.gpu.availability import nvidia_smi, probe
from hand_mesh_ros.handmodel.camera_fit import KeypointObservation
from hand_mesh_ros.perception.regions import image_to_crop_matrix
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
from hand_mesh_ros.synthetic import load_or_make_sequence

STAGES = ("detection", "landmarks", "geometry", "fit", "total")


def log(message: str) -> None:
    print(f"[bench_gpu] {message}", file=sys.stderr, flush=True)


def end_to_end(cfg: ReconstructionConfig, passes: int) -> dict[str, dict[str, float]]:
    """Per-stage median (and total p95) ms, keyed by '<hands> hand(s), tracking|detection'."""
    seq = load_or_make_sequence(num_frames=60)
    rec = HandReconstructor(cfg, log=log)
    rows: dict[str, list[list[float]]] = {}
    for p in range(passes + 1):  # pass 0 warms up (engine contexts, allocator, caches)
        rec.reset()
        for k, frame in enumerate(seq):
            result = rec.process_frame(frame.rgb, seq.camera, p * 100.0 + k / seq.fps)
            if p == 0:
                continue
            mode = "detection" if result.detector_ran else "tracking"
            key = f"{len(frame.hands)} hand{'s' if len(frame.hands) > 1 else ''}, {mode}"
            rows.setdefault(key, []).append([getattr(result.times, s) for s in STAGES])
    out = {}
    for key, values in sorted(rows.items()):
        a = np.asarray(values)
        out[key] = {s: float(np.median(a[:, i])) for i, s in enumerate(STAGES)}
        out[key]["total_p95"] = float(np.percentile(a[:, -1], 95))
        out[key]["frames"] = len(a)
    return out


def throughput(cfg: ReconstructionConfig, batch: int, repeats: int, gpu: bool) -> dict[str, float]:
    """Hands per second through landmarks, fit, and both, for batches of ``batch`` crops."""
    seq = load_or_make_sequence(num_frames=60)
    frame = seq[len(seq) - 1]  # both hands
    rec = HandReconstructor(cfg, log=log)
    rec.process_frame(frame.rgb, seq.camera, 0.0)
    regions = list(rec.tracker.tracked.values())
    if not regions:
        raise RuntimeError("no hand found in the benchmark frame")
    h, w = frame.rgb.shape[:2]
    mats = [image_to_crop_matrix(regions[k % len(regions)], 224, (w, h)) for k in range(batch)]
    # the camera-space fit of B tracked hands: this frame's hands repeated, warm-started from their own fit
    found = rec.landmark_model.process_regions(frame.rgb, regions)
    picks = [found[k % len(found)] for k in range(batch)]
    obs = KeypointObservation(
        np.stack([seq.camera.undistort_points(r.landmarks_px[:, :2], "normalized") for r in picks]),
        np.stack([r.landmarks_px for r in picks]), np.stack([r.world_m for r in picks]))
    fitter = rec.fitters["right"]
    previous = fitter.fit(obs)
    if gpu:
        from hand_mesh_ros.gpu.engine_cache import BatchProfile
        from hand_mesh_ros.gpu.warp_torch import crops_into
        from hand_mesh_ros.perception.engines import open_engine

        engine = open_engine(f"hand_landmark_{cfg.model_variant}", cfg.precision, "cuda:0",
                             profile=BatchProfile(1, batch, batch), log=log)
        image = torch.from_numpy(frame.rgb).to(engine.device)

        def landmarks() -> torch.Tensor:
            with torch.cuda.stream(engine.stream):
                buf = crops_into(engine.input_buffer(batch), image, mats, cv2.BORDER_REPLICATE)
            world = engine.run_device(buf)[3]
            torch.cuda.current_stream().wait_stream(engine.stream)
            return world.reshape(batch, 21, 3)

        def both() -> object:
            landmarks().cpu()
            return fitter.fit(obs, init=previous)
    else:
        lm = rec.landmark_model
        crops = np.stack([lm.crop(frame.rgb, regions[k % len(regions)])[0] for k in range(batch)])

        def landmarks() -> np.ndarray:  # type: ignore[misc]
            return lm.run(crops).world.astype(np.float64)

        def both() -> object:
            landmarks()
            return fitter.fit(obs, init=previous)

    sync = torch.cuda.synchronize if gpu else None
    t_lm = timed(landmarks, repeats, sync)[0]
    t_fit = timed(lambda: fitter.fit(obs, init=previous), repeats)[0]
    t_both = timed(both, repeats, sync)[0]
    return {"batch": batch, "landmarks_hands_per_s": batch / t_lm, "fit_hands_per_s": batch / t_fit,
            "landmarks_and_fit_hands_per_s": batch / t_both, "landmarks_ms": t_lm * 1e3, "fit_ms": t_fit * 1e3,
            "landmarks_and_fit_ms": t_both * 1e3}


def gpu_process_memory_mb() -> str:
    """This process's GPU memory as nvidia-smi reports it (CUDA context, engines, buffers), or 'n/a'."""
    import os

    for line in nvidia_smi("--query-compute-apps=pid,used_memory"):
        pid, _, used = line.partition(",")
        if pid.strip() == str(os.getpid()):
            return f"{used.strip()} MiB"
    return "n/a (nvidia-smi absent or does not list this process)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precision", choices=["fp16", "fp32", "int8"], default="fp16")
    parser.add_argument("--variant", choices=["full", "lite"], default="full")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--cpu", action="store_true", help="ONNX Runtime + numpy instead of the GPU")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    info = probe("cuda:0")
    if not args.cpu and not info.tensorrt_ready:
        print(f"no GPU run possible: {info.reason}. Nothing measured (--cpu gives the CPU figures).")
        return 2
    gpu = not args.cpu
    cfg = ReconstructionConfig(backend="tensorrt" if gpu else "onnxruntime", device="cuda:0" if gpu else "cpu",
                               precision=args.precision, model_variant=args.variant)
    device = info.describe() if gpu else f"CPU ({torch.get_num_threads()} torch threads), ONNX Runtime"
    print(f"device: {device}")
    backend = f"tensorrt {cfg.precision}" if gpu else "onnxruntime"
    print(f"backend: {backend}, {args.variant} models, torch {torch.__version__}")
    results: dict[str, object] = {"device": device, "backend": cfg.backend, "precision": cfg.precision}

    e2e = end_to_end(cfg, args.passes)
    results["end_to_end_ms"] = e2e
    print("\nend to end, 640x480 frames, fit on the cpu (median ms per frame; total also p95)")
    print(f"{'frames':<24}{'n':>5}" + "".join(f"{s:>11}" for s in STAGES) + f"{'p95':>9}")
    for key, row in e2e.items():
        print(f"{key:<24}{row['frames']:>5.0f}" + "".join(f"{row[s]:>11.2f}" for s in STAGES)
              + f"{row['total_p95']:>9.2f}")

    if gpu:
        memory = gpu_process_memory_mb()
        results["gpu_memory_after_end_to_end"] = memory
        print(f"GPU memory of this process after the end-to-end run (context, 2 engines, buffers): {memory}")

    tp = throughput(cfg, args.batch, args.repeats, gpu)
    results["throughput"] = tp
    print(f"\nbatched, {args.batch} hands per batch, camera-space fit on the CPU (warm start):")
    print(f"  landmarks           {tp['landmarks_ms']:8.2f} ms/batch  {tp['landmarks_hands_per_s']:9.0f} hands/s")
    print(f"  fit                 {tp['fit_ms']:8.2f} ms/batch  {tp['fit_hands_per_s']:9.0f} hands/s")
    print(f"  landmarks + fit     {tp['landmarks_and_fit_ms']:8.2f} ms/batch  "
          f"{tp['landmarks_and_fit_hands_per_s']:9.0f} hands/s")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
