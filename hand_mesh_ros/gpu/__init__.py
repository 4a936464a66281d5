"""GPU inference: TensorRT engines built from the exported ONNX models, CUDA buffers and GPU-side crops.

Nothing here is needed on a CPU-only machine: ``tensorrt`` and a CUDA build of torch are imported only when a
GPU backend is asked for. :mod:`.availability` says what this machine can run.
"""
