"""Hand perception: MediaPipe Hands' palm detector and landmark network, converted to PyTorch/ONNX, and the
tracking loop around them.

Entry points: :class:`hand_mesh_ros.perception.tracker.HandTracker` (the tracking loop: detection schedule,
association, next-frame regions, track ids), :class:`hand_mesh_ros.perception.pipeline.HandPerception` (the two
networks plus a tracker: whole images, tracking or static), :class:`~hand_mesh_ros.perception.palm_model.PalmModel`
and :class:`~hand_mesh_ros.perception.landmark_model.LandmarkModel` (batched raw networks), the converter
``python -m hand_mesh_ros.perception.convert`` and the TensorRT engine builder
``python -m hand_mesh_ros.perception.build_engines``. Submodules are imported explicitly (this package imports
nothing heavy on its own; torch only on the conversion and torch-backend paths).
"""
