"""Where every artifact lands (dvc.yaml declares the same paths; a test keeps them equal)."""

from pathlib import Path

from pipelines.config import ExportMethod, QuantMode

ARTIFACTS = Path("artifacts")
CHECKPOINT = ARTIFACTS / "checkpoint"
TF_CHECKPOINT = CHECKPOINT / "tf" / "ckpt"
TORCH_WEIGHTS = CHECKPOINT / "torch" / "weights.pt"
TRAIN_SUMMARY = CHECKPOINT / "summary.json"
KERAS_REFERENCE = CHECKPOINT / "reference_keras.npz"
DATASET = ARTIFACTS / "dataset"
FROZEN = ARTIFACTS / "frozen"
FROZEN_GRAPH = FROZEN / "model.pb"
SAVEDMODEL = ARTIFACTS / "savedmodel"
SAVEDMODEL_DIR = SAVEDMODEL / "model"
BUILD = Path("build")
CPP_BIN = BUILD / "bin"
CMAKE_DIR = BUILD / "cmake"
PACKAGE_BUILD_DIR = BUILD / "package"  # the cross-built library of the ARM64 bundles (not a DVC output)
DIST = Path("dist")
METRICS = Path("metrics")
PLOTS = Path("plots")
REPORTS = Path("reports")


def tflite_dir(mode: QuantMode) -> Path:
    return ARTIFACTS / "tflite" / mode.name


def tflite_model(mode: QuantMode) -> Path:
    return tflite_dir(mode) / "model.tflite"


def torch_dir(method: ExportMethod) -> Path:
    return ARTIFACTS / "torch" / method.name


def torch_model(method: ExportMethod) -> Path:
    return torch_dir(method) / ("model.pt2" if method.is_aoti else "model.pt")
