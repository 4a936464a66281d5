"""TensorRT: build an engine from an ONNX file (with progress), and run it with buffers allocated once.

Works with TensorRT 10 (JetPack 6, desktop) and 11 (desktop): the network is strongly typed, its precision
comes from the ONNX file (:mod:`.precision_onnx`). Device memory, pinned host memory and the CUDA stream are
torch objects, so no other CUDA binding is needed. ``tensorrt`` and CUDA are only touched when an engine is
built or opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .engine_cache import BatchProfile

Log = Callable[[str], None]

_STREAMS: dict[str, Any] = {}
_STREAMS_LOCK = threading.Lock()


class EngineBuildError(RuntimeError):
    """TensorRT could not build an engine; the message carries the parser/builder errors."""


def node_stream(device: str) -> Any:
    """The one CUDA stream of this process (a node) on ``device``: every engine and copy of the node uses it."""
    import torch

    with _STREAMS_LOCK:
        if device not in _STREAMS:
            _STREAMS[device] = torch.cuda.Stream(device=torch.device(device))
        return _STREAMS[device]


def _trt() -> Any:
    import tensorrt as trt

    return trt


def _logger() -> Any:
    trt = _trt()
    return trt.Logger(trt.Logger.WARNING)


def progress_monitor(log: Log, interval_s: float = 2.0) -> Any:
    """A TensorRT IProgressMonitor that reports phases (two levels deep) and, every ``interval_s``, the step
    of the innermost phase through ``log``."""
    trt = _trt()

    class Monitor(trt.IProgressMonitor):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.lock = threading.Lock()
            self._phases: dict[str, tuple[int, int]] = {}  # name -> (depth, steps)
            self._last = 0.0

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            with self.lock:
                depth = self._phases[parent_phase][0] + 1 if parent_phase in self._phases else 0
                self._phases[phase_name] = (depth, num_steps)
                if depth < 2:
                    log(f"{'  ' * depth}{phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name: str, step: int) -> bool:
            now = time.monotonic()
            with self.lock:
                if now - self._last >= interval_s and phase_name in self._phases:
                    self._last = now
                    depth, steps = self._phases[phase_name]
                    log(f"{'  ' * depth}{phase_name}: {step + 1}/{steps}")
            return True

        def phase_finish(self, phase_name: str) -> None:
            with self.lock:
                self._phases.pop(phase_name, None)

    return Monitor()


def build_engine_bytes(
    onnx_path: Path,
    input_hwc: tuple[int, int, int],
    profile: BatchProfile,
    strict_fp32: bool = False,
    workspace_mb: int = 1024,
    log: Log = print,
) -> bytes:
    """Serialized engine for the ONNX model at ``onnx_path`` (one NHWC input with a dynamic batch axis).

    ``strict_fp32``: also forbid TF32 in convolutions (the fp32 engine then matches ONNX Runtime closely).
    Raises EngineBuildError with TensorRT's own messages.
    """
    trt = _trt()
    logger = _logger()
    builder = trt.Builder(logger)
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    network = builder.create_network(0 if strongly_typed is None else 1 << int(strongly_typed))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes(), str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineBuildError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if strict_fp32 and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    monitor = progress_monitor(log)
    config.progress_monitor = monitor
    opt = builder.create_optimization_profile()
    name = network.get_input(0).name
    opt.set_shape(name, (profile.min, *input_hwc), (profile.opt, *input_hwc), (profile.max, *input_hwc))
    config.add_optimization_profile(opt)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(f"TensorRT built no engine from {onnx_path} (see its messages above; common causes: "
                               f"too little GPU memory for a {workspace_mb} MiB workspace, an old TensorRT)")
    return bytes(memoryview(serialized))


class TensorRTBackend:
    """Runs one engine: input/output buffers on the device and pinned host copies, allocated once for the
    engine's largest batch; everything is enqueued on the node's CUDA stream.

    ``run`` takes and returns numpy (like the other backends); ``run_device`` takes a device tensor (or fills
    :meth:`input_buffer` in place) and returns device tensors valid until the next call.
    """

    def __init__(self, engine_path: Path, output_names: list[str], device: str = "cuda:0",
                 stream: Any | None = None, precision: str = "") -> None:
        import torch

        trt = _trt()
        self.device = torch.device(device)
        self.name = f"tensorrt {precision} ({device})".replace("  ", " ")
        self.stream = stream if stream is not None else node_stream(device)
        self.lock = threading.Lock()
        with torch.cuda.device(self.device):
            self.runtime = trt.Runtime(_logger())
            self.engine = self.runtime.deserialize_cuda_engine(engine_path.read_bytes())
            if self.engine is None:
                raise RuntimeError(f"TensorRT cannot load engine {engine_path} (built by another TensorRT or GPU?); "
                                   "delete it or rebuild with "
                                   "`python -m hand_mesh_ros.perception.build_engines --force`")
            self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        missing = [n for n in output_names if n not in names]
        if len(inputs) != 1 or missing:
            raise RuntimeError(f"engine {engine_path.name} has inputs {inputs} and tensors {names}; expected one "
                               f"input and outputs {output_names}")
        self.input_name = inputs[0]
        self.output_names = list(output_names)
        self.max_batch = int(self.engine.get_tensor_profile_shape(self.input_name, 0)[2][0])
        self.sample_shape = tuple(int(d) for d in self.engine.get_tensor_shape(self.input_name))[1:]
        self.context.set_input_shape(self.input_name, (self.max_batch, *self.sample_shape))
        self._batch = self.max_batch

        def alloc(name: str) -> tuple[Any, Any]:
            if self.engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise RuntimeError(f"engine tensor {name} is {self.engine.get_tensor_dtype(name)}, expected float32")
            shape = tuple(int(d) for d in self.context.get_tensor_shape(name))
            dev = torch.empty(shape, dtype=torch.float32, device=self.device)
            host = torch.empty(shape, dtype=torch.float32, pin_memory=True)
            self.context.set_tensor_address(name, dev.data_ptr())
            return dev, host

        self._in_dev, self._in_host = alloc(self.input_name)
        self._outs = [alloc(n) for n in self.output_names]

    def input_buffer(self, n: int) -> Any:
        """The device input buffer for a batch of ``n`` (fill it, then call ``run_device(buffer)``)."""
        if not 1 <= n <= self.max_batch:
            raise ValueError(f"batch {n} outside this engine's profile 1..{self.max_batch}")
        return self._in_dev[:n]

    def _execute(self, n: int) -> None:
        if n != self._batch:
            self.context.set_input_shape(self.input_name, (n, *self.sample_shape))
            self._batch = n
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed (see its messages)")

    def run_device(self, x: Any) -> tuple[Any, ...]:
        """Outputs (device tensors, in stream order) for a float32 (N, H, W, 3) device batch, N <= max_batch."""
        import torch

        n = int(x.shape[0])
        buf = self.input_buffer(n)
        self.stream.wait_stream(torch.cuda.current_stream(self.device))  # x may come from another stream
        with torch.cuda.stream(self.stream):
            if x.data_ptr() != buf.data_ptr():
                buf.copy_(x, non_blocking=True)
            self._execute(n)
        return tuple(dev[:n] for dev, _ in self._outs)

    def run_filled(self, n: int) -> tuple[np.ndarray, ...]:
        """Run on the first ``n`` samples already in :meth:`input_buffer` (written on this backend's stream)
        and return the outputs as numpy arrays."""
        import torch

        with torch.cuda.stream(self.stream):
            self._execute(n)
            for dev, host in self._outs:
                host[:n].copy_(dev[:n], non_blocking=True)
        self.stream.synchronize()
        return tuple(host[:n].numpy().copy() for _, host in self._outs)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """Outputs (numpy) for a float32 NHWC batch of any size (split into chunks of max_batch)."""
        import torch

        if batch.shape[0] > self.max_batch:
            parts = [self.run(batch[k : k + self.max_batch]) for k in range(0, batch.shape[0], self.max_batch)]
            return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
        n = batch.shape[0]
        with self.lock:
            self._in_host[:n].numpy()[...] = batch
            with torch.cuda.stream(self.stream):
                self._in_dev[:n].copy_(self._in_host[:n], non_blocking=True)
            return self.run_filled(n)
