"""Settings of the reconstruction core (also the reconstruction node's ROS parameters)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidSettingError
from ..handmodel.hand_length import DEFAULT_HAND_LENGTH_M, MAX_HAND_LENGTH_M, MIN_HAND_LENGTH_M
from ..perception.palm_search import SMALL_HAND_MODES, parse_roi
from ..perception.tracker import MODES
from ..settings import check_device, refusing_removed, setting, validate


@dataclass(frozen=True)
class ModelSettings:
    """Which networks run where (shared by the detector and the reconstruction)."""

    model_variant: str = setting("full", "MediaPipe model variant (lite for Jetson Nano-class devices).",
                                 choices=("full", "lite"), applies="configure")
    backend: str = setting("auto", "Inference backend: auto picks TensorRT when a GPU and tensorrt are "
                           "present, else ONNX Runtime.", choices=("auto", "onnxruntime", "torch", "tensorrt"),
                           applies="configure")
    device: str = setting("auto", "Device of the networks: auto (the GPU when the backend runs there), cpu or "
                          "cuda[:N].", applies="configure")
    precision: str = setting("fp16", "Precision of TensorRT engines: fp16, fp32, or int8 (prebuild it with a "
                             "calibration set: python -m hand_mesh_ros.perception.build_engines).",
                             choices=("fp16", "fp32", "int8"), applies="configure")

    def __post_init__(self) -> None:  # every subclass's settings, and the device string
        validate(self)
        check_device("device", self.device)


@dataclass(frozen=True)
class DetectionSettings(ModelSettings):
    """How hands are detected (shared by the detector node and the reconstruction)."""

    max_hands: int = setting(2, "Most hands detected and tracked at once.", 1, 4)
    min_detection_score: float = setting(0.5, "Palm detector score threshold.", 0.0, 1.0)
    detection_mode: str = setting("on_demand", "When the palm detector runs: on_demand (only while fewer than "
                                  "max_hands are tracked, as MediaPipe), every_frame, or every_n.",
                                  choices=MODES)
    detect_every_n: int = setting(10, "every_n mode: the period in frames; on_demand mode: how often to look "
                                  "for more hands while some but fewer than max_hands are tracked (with none "
                                  "tracked the detector runs on every frame).", 1, 1000)
    small_hands: str = setting("auto", "Also search for hands too small for the whole-image palm detector (under "
                               "about a tenth of the image's long side: beyond ~1.4 m from a 70-degree camera) on "
                               "square tiles, one per detection frame, in turn: with nothing tracked the whole "
                               "image and a tile take turns; while hands are tracked, a frame that looks for more "
                               "searches the whole image and, if it found too few, a tile. auto = tiles3; tilesN: N "
                               "tiles along the long side; off.", choices=SMALL_HAND_MODES)
    detection_roi: str = setting("", "Where new hands are looked for: 'x0,y0,x1,y1', normalised to [0, 1] when "
                                 "all four are <= 1, else all four in pixels; empty: the whole image. Tracked "
                                 "hands are followed anywhere.")

    def __post_init__(self) -> None:  # the ROI's format (its size is checked against each image)
        super().__post_init__()
        try:
            parse_roi(self.detection_roi)
        except ValueError as exc:
            raise InvalidSettingError(f"invalid settings: {exc}") from None


HAND_SIZE_MODES = ("depth", "fixed")

# Settings that no longer exist, with what replaces them: a file or launch argument that still sets one is
# refused with this message instead of being ignored (hand_size_m was a palm size and means something else).
REMOVED_SETTINGS = {
    "hand_size_m": "it was a palm size that only worked as a fudge factor; set hand_length_m, the length of "
                   "the flat hand from the wrist crease to the tip of the middle finger, in metres",
    "model_positioning": "the hand model is now fitted in camera space directly; remove the setting",
    "dgp_refine": "the camera-space fit minimises the reprojection error itself; remove the setting",
    "fit_device": "the camera-space fit runs on the CPU (numpy); remove the setting",
    "shape_calibration_frames": "the hand model keeps its mean shape at hand_length_m; remove the setting",
    "detect_every": "renamed detect_every_n (the same name as the detector node's)",
    "filter_min_cutoff_hz": "the One Euro filters were replaced by a predictive filter without lag; set "
                            "filter_position_noise_px, filter_depth_noise_ratio, filter_joint_noise_m (larger = "
                            "smoother)",
    "joint_filter_beta": "the One Euro filters were replaced by a predictive filter; set filter_joint_noise_m",
    "translation_filter_beta_xy": "the One Euro filters were replaced by a predictive filter; set "
                                  "filter_position_noise_px",
    "translation_filter_beta_z": "the One Euro filters were replaced by a predictive filter; set "
                                 "filter_depth_noise_ratio",
}


@refusing_removed(REMOVED_SETTINGS)
@dataclass(frozen=True)
class ReconstructionConfig(DetectionSettings):
    """Settings of :class:`~.reconstructor.HandReconstructor`; the detection settings only apply when it runs
    its own palm detector (``external_detections: false`` in the node)."""

    min_presence: float = setting(0.5, "Landmark hand-presence threshold; below it the track is lost.", 0.0, 1.0)
    hand_model: str = setting("auto", "Hand model: auto uses MANO when mano_dir is set, else the embedded "
                              "open hand model.", choices=("auto", "open_hand", "mano"), applies="configure")
    mano_dir: str = setting("", "Folder with the user's MANO_RIGHT.pkl / MANO_LEFT.pkl (never shipped).",
                            applies="configure")
    hand_length_m: float = setting(
        DEFAULT_HAND_LENGTH_M, "Hand length in metres: wrist crease to the tip of the middle finger, hand flat "
        "(measure it with a ruler; default 0.187 = ANSUR II adult mean of men 0.193 and women 0.181). Depth "
        "scales with it: 5 % too large places hands 5 % too far.", MIN_HAND_LENGTH_M, MAX_HAND_LENGTH_M)
    hand_size_mode: str = setting(
        "depth", "Where the hand length comes from once depth images arrive (depth_image set): depth calibrates "
        "it from confident depth frames, locks it once the estimates agree and keeps it when depth goes away; "
        "fixed always uses hand_length_m (depth then only refines each frame). Without depth both use "
        "hand_length_m.", choices=HAND_SIZE_MODES)
    confidence_threshold: float = setting(0.5, "Below this confidence a frame is treated as a false "
                                          "positive and the track holds its last confident result.", 0.0, 1.0)
    hold_time_s: float = setting(0.3, "How long a track may hold its last confident result, seconds (with "
                                 "smoothing, the held hand moves on as predicted from its motion).",
                                 0.0, 5.0)
    smoothing: bool = setting(True, "Temporal filtering (predictive: no lag on steady motion, smooth when still, "
                              "held hands predicted through short gaps). false publishes each frame's newest raw "
                              "estimate, e.g. for a controller that filters itself.")
    filter_position_noise_px: float = setting(1.0, "Filter: noise of the hand's image position, pixels. Larger "
                                              "is smoother and slower to follow a change.", 0.05, 50.0)
    filter_depth_noise_ratio: float = setting(0.02, "Filter: noise of the hand's depth as a fraction of the "
                                              "depth (0.02 = 1 cm at 0.5 m).", 0.001, 0.5)
    filter_joint_noise_m: float = setting(0.003, "Filter: noise of each joint relative to the wrist, metres "
                                          "(divided by the joint's confidence).", 0.0001, 0.1)
    fit_iterations: int = setting(2, "Gauss-Newton iterations of the camera-space hand fit per tracked frame "
                                  "(a new hand gets 8).", 1, 10)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hand_model == "mano" and not self.mano_dir:
            raise InvalidSettingError("hand_model is 'mano' but mano_dir is empty: set mano_dir to the folder "
                                      "with MANO_RIGHT.pkl and MANO_LEFT.pkl")
