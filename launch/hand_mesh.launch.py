"""Start hand_mesh_ros: the detector and reconstruction nodes, optionally RViz and the retargeting node.

    ros2 launch hand_mesh_ros hand_mesh.launch.py image:=/camera/color/image_raw \
        camera_info:=/camera/color/camera_info rviz:=true

Arguments: image, camera_info (topics), depth_image (topic of a depth image registered to the colour image,
e.g. /camera/camera/aligned_depth_to_color/image_raw; empty: the config file's depth_image, off by default),
namespace, config_file (parameters YAML), backend
(auto|onnxruntime|torch|tensorrt), device (auto|cpu|cuda[:N]), precision (fp16|fp32|int8, TensorRT),
model_variant (full|lite), use_sim_time (true|false: follow /clock, e.g. under `ros2 bag play --clock`),
rviz (true|false), teleop_robot (empty: off; e.g. leap_hand or allegro_hand: also start the retargeting node,
which needs dex-retargeting; it sets the node's robot parameter), teleop_urdf_dir (the folder the robot
config's URDF path is relative to, best absolute; empty: the config file's urdf_dir).

    ros2 launch hand_mesh_ros hand_mesh.launch.py teleop_robot:=leap_hand teleop_urdf_dir:=$HOME/dex-urdf/robots/hands
    ros2 launch hand_mesh_ros hand_mesh.launch.py image:=/camera/camera/color/image_raw \
        camera_info:=/camera/camera/color/camera_info depth_image:=/camera/camera/aligned_depth_to_color/image_raw
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription

SHARE = Path(get_package_share_directory("hand_mesh_ros"))


def generate_launch_description() -> LaunchDescription:
    image = LaunchConfiguration("image")
    camera_info = LaunchConfiguration("camera_info")
    namespace = LaunchConfiguration("namespace")
    config_file = LaunchConfiguration("config_file")
    overrides = {
        "backend": LaunchConfiguration("backend"),
        "device": LaunchConfiguration("device"),
        "precision": LaunchConfiguration("precision"),
        "model_variant": LaunchConfiguration("model_variant"),
    }
    # rclpy's own parameter (every node has it): time from /clock instead of the system clock.
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    return LaunchDescription([
        DeclareLaunchArgument("image", default_value="/camera/image_raw", description="Image topic"),
        DeclareLaunchArgument("camera_info", default_value="/camera/camera_info",
                              description="CameraInfo topic"),
        DeclareLaunchArgument("depth_image", default_value="",
                              description="Depth image registered to the colour image (16UC1 mm or 32FC1 m), "
                              "e.g. /camera/camera/aligned_depth_to_color/image_raw; empty: the config file's "
                              "depth_image (off by default)"),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of both nodes"),
        DeclareLaunchArgument("config_file", default_value=str(SHARE / "config" / "hand_mesh.yaml"),
                              description="Parameters YAML"),
        DeclareLaunchArgument("backend", default_value="auto",
                              description="auto, onnxruntime, torch or tensorrt"),
        DeclareLaunchArgument("device", default_value="auto", description="auto, cpu or cuda[:N]"),
        DeclareLaunchArgument("precision", default_value="fp16",
                              description="TensorRT engine precision: fp16, fp32 or int8"),
        DeclareLaunchArgument("model_variant", default_value="full", description="full or lite"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="Use /clock (e.g. ros2 bag play --clock) instead of the system clock"),
        DeclareLaunchArgument("rviz", default_value="false", description="Start RViz with our config"),
        DeclareLaunchArgument("teleop_robot", default_value="",
                              description="Robot hand for teleoperation (e.g. leap_hand); empty: no retargeting"),
        DeclareLaunchArgument("teleop_urdf_dir", default_value="",
                              description="Folder the robot config's URDF path is relative to"),
        Node(
            package="hand_mesh_ros",
            executable="detector_node",
            name="hand_detector",
            namespace=namespace,
            parameters=[config_file, overrides, sim_time],
            remappings=[("image", image)],
            output="screen",
        ),
        *[Node(
            package="hand_mesh_ros",
            executable="reconstruction_node",
            name="hand_reconstruction",
            namespace=namespace,
            parameters=[config_file, overrides, depth_params, sim_time],
            remappings=[("image", image), ("camera_info", camera_info)],
            output="screen",
            condition=IfCondition(PythonExpression(
                ["('", LaunchConfiguration("depth_image"), "' != '') == ", str(with_depth)])),
        ) for with_depth, depth_params in (
            (True, {"depth_image": ParameterValue(LaunchConfiguration("depth_image"), value_type=str)}),
            (False, {}),  # depth_image from the config file
        )],
        *[Node(
            package="hand_mesh_ros",
            executable="retargeting_node",
            name="hand_retargeting",
            namespace=namespace,
            parameters=[config_file, teleop_params, sim_time],
            output="screen",
            condition=IfCondition(PythonExpression(
                ["'", LaunchConfiguration("teleop_robot"), "' != '' and ('", LaunchConfiguration("teleop_urdf_dir"),
                 "' != '') == ", str(with_dir)])),
        ) for with_dir, teleop_params in (
            (True, {"robot": LaunchConfiguration("teleop_robot"), "urdf_dir": LaunchConfiguration("teleop_urdf_dir")}),
            (False, {"robot": LaunchConfiguration("teleop_robot")}),  # urdf_dir from the config file
        )],
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            arguments=["-d", str(SHARE / "rviz" / "hand_mesh.rviz")],
            parameters=[sim_time],
            condition=IfCondition(LaunchConfiguration("rviz")),
        ),
    ])
