"""Build (or check) the TensorRT engines of the hand models ahead of time, e.g. on a Jetson before a demo.

Usage::

    python -m hand_mesh_ros.perception.build_engines [--variant full|lite|all] [--precision fp16|fp32|int8]
        [--max-batch N] [--device cuda:0] [--calibration DIR] [--force]

Engines land in ``$HAND_MESH_ROS_CACHE/engines`` keyed by model, precision, batch profile, ONNX hash, GPU and
TensorRT version; the nodes find them there. Models not converted yet are converted first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..gpu.availability import probe
from ..gpu.engine_cache import PRECISIONS, BatchProfile
from .convert import VARIANTS, convert_models
from .engines import DEFAULT_PROFILES, engine_for, family


def log(message: str) -> None:
    print(f"[build_engines] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.perception.build_engines",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=["full", "lite", "all"], default="full")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp16")
    parser.add_argument("--max-batch", type=int, default=None,
                        help="largest landmark batch (default: the nodes' profile, 8)")
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--calibration", type=Path, help="folder of images with hands (int8 only)")
    parser.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
    args = parser.parse_args(argv)
    if args.precision == "int8" and args.calibration is None:
        parser.error("--precision int8 needs --calibration DIR (images with hands, e.g. frames of your camera)")
    if args.max_batch is not None and args.max_batch < 1:
        parser.error("--max-batch must be >= 1")
    gpu = probe(args.device)
    if not gpu.tensorrt_ready:
        log(f"cannot build engines: {gpu.reason}")
        return 2
    log(f"device: {gpu.describe()}")
    names = VARIANTS["full"] + VARIANTS["lite"] if args.variant == "all" else VARIANTS[args.variant]
    convert_models(names)
    for k, name in enumerate(names, 1):
        profile = DEFAULT_PROFILES[family(name)]
        if args.max_batch is not None and family(name) == "hand_landmark":
            profile = BatchProfile(1, min(profile.opt, args.max_batch), args.max_batch)
        log(f"[{k}/{len(names)}] {name} {args.precision} {profile}")
        t0 = time.perf_counter()
        path, built = engine_for(name, args.precision, profile, args.device, calibration=args.calibration,
                                 force=args.force, log=log)
        log(f"{name}: {'built' if built else 'cached'} {path} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
