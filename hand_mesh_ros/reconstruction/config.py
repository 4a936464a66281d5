"""Settings of the reconstruction core (also the reconstruction node's ROS parameters)."""

from __future__ import annotations

from dataclasses import dataclass

from ..geometry.hand_size import DEFAULT_PALM_SIZE_M
from ..gpu.availability import device_index
from ..settings import setting, validate


@dataclass(frozen=True)
class ModelSettings:
    """Which networks run where (shared by the detector and the reconstruction)."""

    model_variant: str = setting("full", "MediaPipe model variant (lite for Jetson Nano-class devices).",
                                 choices=("full", "lite"), read_only=True)
    backend: str = setting("auto", "Inference backend: auto picks TensorRT when a GPU and tensorrt are "
                           "present, else ONNX Runtime.", choices=("auto", "onnxruntime", "torch", "tensorrt"),
                           read_only=True)
    device: str = setting("auto", "Device of the networks: auto (the GPU when the backend runs there), cpu or "
                          "cuda[:N].", read_only=True)
    precision: str = setting("fp16", "Precision of TensorRT engines: fp16, fp32, or int8 (prebuild it with a "
                             "calibration set: python -m hand_mesh_ros.gpu.build_engines).",
                             choices=("fp16", "fp32", "int8"), read_only=True)


def check_device(name: str, value: str, allow_auto: bool) -> None:
    """Raise ValueError unless ``value`` is cpu, cuda, cuda:N (or auto when ``allow_auto``)."""
    if value == "cpu" or (allow_auto and value == "auto"):
        return
    try:
        device_index(value)
    except ValueError:
        choices = "auto, cpu, cuda or cuda:N" if allow_auto else "cpu, cuda or cuda:N"
        raise ValueError(f"invalid settings: {name} must be {choices}; got {value!r}") from None


@dataclass(frozen=True)
class ReconstructionConfig(ModelSettings):
    max_hands: int = setting(2, "Most hands tracked at once.", 1, 4)
    min_detection_score: float = setting(0.5, "Palm detector score threshold (offline/single-process mode).",
                                         0.0, 1.0)
    min_presence: float = setting(0.5, "Landmark hand-presence threshold; below it the track is lost.", 0.0, 1.0)
    detect_every: int = setting(10, "Single-process mode: while some but fewer than max_hands are tracked, look "
                                "for more hands every N-th frame (MediaPipe: every frame; with no hand tracked "
                                "the detector runs on every frame).", 1, 1000)
    hand_model: str = setting("auto", "Hand model: auto uses MANO when mano_dir is set, else the embedded "
                              "open hand model.", choices=("auto", "open_hand", "mano"), read_only=True)
    mano_dir: str = setting("", "Folder with the user's MANO_RIGHT.pkl / MANO_LEFT.pkl (never shipped).",
                            read_only=True)
    model_positioning: bool = setting(True, "Place the fitted hand model's keypoints again against the 2D "
                                      "keypoints (palm rescaled to hand_size_m, per-joint weights) and publish "
                                      "them (handgraph_dev: 22.9 -> 19.8 mm camera-space MPJPE).")
    dgp_refine: bool = setting(False, "Refine the DGP translation by minimising the pixel reprojection "
                               "error (off: on handgraph_dev it raised the camera-space error).")
    hand_size_mode: str = setting("fixed", "Palm size used for metric depth: fixed (hand_size_m) or online "
                                  "(estimated per track from confident frames, then locked).",
                                  choices=("fixed", "online"))
    hand_size_m: float = setting(DEFAULT_PALM_SIZE_M, "Palm size (mean wrist-to-MCP distance) in metres; "
                                 "depth scales linearly with it.", 0.04, 0.2)
    confidence_threshold: float = setting(0.5, "Below this confidence a frame is treated as a false "
                                          "positive and the track holds its last confident result.", 0.0, 1.0)
    hold_time_s: float = setting(0.3, "How long a track may hold its last confident result, seconds.",
                                 0.0, 5.0)
    smoothing: bool = setting(True, "Temporal filtering of joints and translation (One Euro).")
    filter_min_cutoff_hz: float = setting(1.0, "One Euro minimum cutoff (Hz) of all filters: lower is smoother "
                                          "when the hand is still.", 0.01, 30.0)
    joint_filter_beta: float = setting(2.0, "One Euro speed coefficient of the wrist-relative joints (per m/s): "
                                       "higher follows fast finger motion with less lag.", 0.0, 1000.0)
    translation_filter_beta_xy: float = setting(1.0, "One Euro speed coefficient of the hand's x/y position: "
                                                "higher means less lag, more jitter (ASL video: 3.6x lower "
                                                "acceleration at 0.85 frames lag with 1.0).", 0.0, 1000.0)
    translation_filter_beta_z: float = setting(5.0, "One Euro speed coefficient of the hand's depth.", 0.0, 1000.0)
    fit_device: str = setting("cpu", "Device of the hand-model fit: cpu (numpy, fastest for a few hands) or "
                              "cuda[:N] (torch).", read_only=True)
    fit_iterations: int = setting(2, "Gauss-Newton iterations of the hand-model fit per frame.", 0, 10)
    shape_calibration_frames: int = setting(10, "Frames over which a track's hand shape is estimated before "
                                            "it is frozen (0: mean shape).", 0, 1000)

    def __post_init__(self) -> None:
        validate(self)
        check_device("device", self.device, allow_auto=True)
        check_device("fit_device", self.fit_device, allow_auto=False)
        if self.hand_model == "mano" and not self.mano_dir:
            raise ValueError("hand_model is 'mano' but mano_dir is empty: set mano_dir to the folder with "
                             "MANO_RIGHT.pkl and MANO_LEFT.pkl")
