"""Hand perception: MediaPipe Hands' palm detector and landmark network, converted to PyTorch/ONNX.

Entry points: :class:`hand_mesh_ros.perception.pipeline.HandPerception` (whole images, tracking),
:class:`~hand_mesh_ros.perception.palm_model.PalmModel` and
:class:`~hand_mesh_ros.perception.landmark_model.LandmarkModel` (batched raw networks), and the converter
``python -m hand_mesh_ros.perception.convert``. Submodules are imported explicitly (this package imports
nothing heavy on its own).
"""
