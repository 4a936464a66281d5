"""hand_mesh_ros: metric 3D hands from a monocular camera.

The ROS-free core (everything outside ``hand_mesh_ros.ros`` and ``hand_mesh_ros.tools``) runs on numpy, OpenCV
and ONNX Runtime; PyTorch is needed to convert the models and for the torch/TensorRT backends. After
``colcon build`` the generated message modules (``hand_mesh_ros.msg``) live in the install space;
``extend_path`` lets a source checkout that comes first on ``sys.path`` still find them.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
