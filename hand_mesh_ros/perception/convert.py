"""Convert the MediaPipe Hands .tflite models into PyTorch state dicts and ONNX files (run once).

Usage::

    python -m hand_mesh_ros.perception.convert [--wheel PATH] [--variant full|lite|all] [--force]

Outputs go to ``cache_dir("models")``: ``<name>.pt`` (spec + state dict, the source of truth), ``<name>.onnx``
(dynamic batch, exported from the PyTorch module) and ``<name>.json`` (source sha256, format version and the
sha256 of the two files, checked before they are used). The command is idempotent: a model whose outputs exist,
record the expected source hash and are intact is skipped (files converted before their sha256 was recorded are
checked against each other once, then recorded). The ``.json`` is written last and removed first, so a conversion
that stops half way never leaves a model that looks converted. A cache folder that cannot be written is reported
(CacheNotWritableError) before anything is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from ..errors import CacheNotWritableError, ConfigurationError
from ..paths import CACHE_ENV, cache_dir
from .graph_net import TfliteGraphNet, spec_from_tflite
from .model_cache import (
    FORMAT_VERSION,
    OUTPUT_NAMES,
    VARIANTS,
    CorruptModelError,
    file_checksums,
    is_converted,
    model_files,
    verify_files,
)
from .onnx_fuse import fold_pads_into_convs
from .sources import SOURCES, download_wheel, extract_tflite, log
from .tflite_reader import read_tflite


def torch_to_onnx(module: torch.nn.Module, name: str, path: Path) -> None:
    """Export a network of model ``name`` (NHWC float32 input "image", dynamic batch, outputs named as in
    OUTPUT_NAMES) with the TorchScript-based exporter, opset 17."""
    size = SOURCES[name].input_size
    outputs = OUTPUT_NAMES[name.rsplit("_", 1)[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(2, size, size, 3),),
            str(path),
            input_names=["image"],
            output_names=outputs,
            dynamic_axes={n: {0: "batch"} for n in ["image", *outputs]},
            opset_version=17,
            dynamo=False,
        )


def _export_onnx(net: TfliteGraphNet, name: str, path: Path) -> None:
    tmp = path.with_suffix(".onnx.tmp")
    try:
        torch_to_onnx(net, name, tmp)
        # Constant-fold with ONNX Runtime's hardware-independent (basic) level, so Pad amounts become constants.
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(tmp)
        opts.log_severity_level = 3
        ort.InferenceSession(str(tmp), opts, providers=["CPUExecutionProvider"])
        model = onnx.load(str(tmp))
        folded = fold_pads_into_convs(model)
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    log(f"{name}: folded {folded} Pad nodes into convolutions")


def _check_onnx(net: TfliteGraphNet, size: int, path: Path) -> float:
    """Largest |ONNX Runtime - PyTorch| difference on a random batch of 2."""
    from .backends import make_ort_session

    x = np.random.default_rng(0).random((2, size, size, 3), dtype=np.float32)
    sess = make_ort_session(path)
    got = sess.run(None, {"image": x})
    with torch.no_grad():
        ref = net(torch.from_numpy(x))
    return max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, ref, strict=False))


def convert_one(name: str, tflite_path: Path, models_dir: Path) -> None:
    """Convert one verified .tflite file into .pt + .onnx + .json in ``models_dir``."""
    src = SOURCES[name]
    pt, onnx_path, meta = model_files(name, models_dir)
    meta.unlink(missing_ok=True)  # not converted until the new metadata is written, last
    log(f"{name}: reading {tflite_path.name}")
    spec, state = spec_from_tflite(read_tflite(tflite_path))
    net = TfliteGraphNet(spec)
    net.load_state(state)
    net.eval()
    tmp_pt = pt.with_suffix(".pt.tmp")
    try:
        torch.save({"format": FORMAT_VERSION, "name": name, "spec": spec, "state_dict": state}, tmp_pt)
        tmp_pt.replace(pt)
    finally:
        tmp_pt.unlink(missing_ok=True)
    log(f"{name}: wrote {pt.name} ({len(spec['nodes'])} ops); exporting ONNX")
    _export_onnx(net, name, onnx_path)
    diff = _check_onnx(net, src.input_size, onnx_path)
    log(f"{name}: wrote {onnx_path.name}; max |onnxruntime - torch| = {diff:.2e}")
    _write_json(meta, {
        "format": FORMAT_VERSION,
        "source_sha256": src.sha256,
        "source_member": src.member,
        "onnx_vs_torch_max_abs": diff,
        "sha256": file_checksums(name, models_dir),
    })


def _write_json(path: Path, info: dict[str, Any]) -> None:
    """Write ``info`` atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(info, indent=1))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def files_intact(name: str, models_dir: Path) -> bool:
    """Whether the files of up-to-date model ``name`` can be trusted (else it is converted again).

    Files whose sha256 the metadata records must match it. Files converted before the sha256 were recorded are
    checked against each other instead (ONNX Runtime and PyTorch on a random batch, as after a conversion) and,
    when they agree, their sha256 is recorded so later loads can check them.
    """
    try:
        verify_files(name, models_dir=models_dir)
    except CorruptModelError as exc:
        log(f"{name}: {exc}; converting it again")
        return False
    pt, onnx_path, meta = model_files(name, models_dir)
    info = json.loads(meta.read_text())
    if info.get("sha256"):
        return True
    try:
        diff = _check_onnx(TfliteGraphNet.from_file(pt), SOURCES[name].input_size, onnx_path)
    except Exception as exc:  # a damaged file raises many types
        log(f"{name}: its cached files cannot be loaded ({type(exc).__name__}: {exc}); converting it again")
        return False
    if not diff < 1e-3:
        log(f"{name}: its .pt and .onnx files disagree (max |difference| {diff:.2e}); converting it again")
        return False
    info["sha256"] = file_checksums(name, models_dir)
    try:
        _write_json(meta, info)
        log(f"{name}: checked its files and recorded their sha256")
    except OSError as exc:  # a read-only cache: still usable, just not checkable by sha256
        log(f"{name}: cannot record the sha256 of its files ({exc.strerror or exc})")
    return True


def convert_models(
    names: list[str], wheel: Path | None = None, models_dir: Path | None = None, force: bool = False
) -> list[str]:
    """Convert the named models (skipping up-to-date ones unless ``force``); return the names converted.

    Raises CacheNotWritableError (before downloading anything) when ``models_dir`` cannot be written.
    """
    models_dir = models_dir or cache_dir("models")
    todo = [n for n in names if force or not is_converted(n, models_dir) or not files_intact(n, models_dir)]
    for n in names:
        if n not in todo:
            log(f"{n}: up to date in {models_dir}")
    if not todo:
        return []
    check_writable(models_dir)
    wheel = wheel or download_wheel()
    try:
        tflite_dir = models_dir / "tflite"
        tflite_dir.mkdir(parents=True, exist_ok=True)
        paths = extract_tflite(wheel, todo, tflite_dir)
        for k, n in enumerate(todo, 1):
            log(f"[{k}/{len(todo)}] converting {n}")
            convert_one(n, paths[n], models_dir)
    except OSError as exc:  # e.g. the disk filled up, or the folder became read-only
        raise CacheNotWritableError(f"cannot write the converted models into {models_dir}: "
                                    f"{type(exc).__name__}: {exc}; {_WRITABLE_ADVICE}") from exc
    return todo


_WRITABLE_ADVICE = f"make the folder writable (and check free space) or set {CACHE_ENV} to a writable folder"


def check_writable(folder: Path) -> None:
    """CacheNotWritableError unless a file can be created in ``folder`` (created when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write_test_", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CacheNotWritableError(f"cannot convert the models into {folder}: it is not writable "
                                    f"({exc.strerror or exc}); {_WRITABLE_ADVICE}") from exc


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.perception.convert",
                                     description=__doc__.split("\n")[0])
    parser.add_argument(
        "--wheel", type=Path, help="a local mediapipe-0.10.21 wheel (default: download with pip)"
    )
    parser.add_argument("--variant", choices=["full", "lite", "all"], default="all")
    parser.add_argument("--force", action="store_true", help="convert even when the outputs are up to date")
    args = parser.parse_args(argv)
    if args.wheel is not None and not args.wheel.is_file():
        parser.error(f"--wheel {args.wheel}: no such file")
    names = VARIANTS["full"] + VARIANTS["lite"] if args.variant == "all" else VARIANTS[args.variant]
    try:
        convert_models(names, wheel=args.wheel, force=args.force)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log(f"done: {', '.join(names)} in {cache_dir('models')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
