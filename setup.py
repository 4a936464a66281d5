"""pip install of the ROS-free core: `pip install .` (then `pip install torch` for model conversion).

In a ROS 2 workspace the package is built by colcon through CMakeLists.txt instead (messages + nodes).
"""

from setuptools import find_packages, setup

setup(
    name="hand_mesh_ros",
    version="0.1.0",
    description="Metric 3D hand meshes from a monocular camera (ROS-free core of the ROS 2 package)",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["hand_mesh_ros", "hand_mesh_ros.*"]),
    # the measured noise of MediaPipe's outputs that the camera-space fit weighs them by
    package_data={"hand_mesh_ros.handmodel": ["cue_statistics.json"]},
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "onnxruntime>=1.17",
        "PyYAML>=6",
        "threadpoolctl>=3.1",
    ],
    extras_require={
        # Model conversion (PyTorch is the source of truth). Install a CPU build of torch yourself first
        # (from PyTorch's CPU wheel index) unless you want several GB of CUDA libraries.
        "convert": ["torch>=2.1", "onnx>=1.15", "tflite>=2.10", "flatbuffers>=23"],
        "bags": ["rosbags>=0.10"],
        # TensorRT engines (hand_mesh_ros.gpu). Needs a CUDA build of torch, installed by you first; on a Jetson
        # use JetPack's TensorRT and NVIDIA's torch instead of this extra.
        "gpu": ["tensorrt>=10"],
    },
    entry_points={
        "console_scripts": [
            "hand-mesh-convert-models=hand_mesh_ros.perception.convert:main",
            "hand-mesh-prepare-hand-model=hand_mesh_ros.handmodel.prepare:main",
            "hand-mesh-build-engines=hand_mesh_ros.perception.build_engines:main",
        ]
    },
)
