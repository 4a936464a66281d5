"""GPU runtime: TensorRT engines (build, cache, run), CUDA buffers and GPU-side crops. Knows nothing about our
networks; :mod:`hand_mesh_ros.perception.engines` builds and opens theirs on top of it.

Nothing here is needed on a CPU-only machine: ``tensorrt`` and a CUDA build of torch are imported only when a
GPU backend is asked for. :mod:`.availability` says what this machine can run.
"""
