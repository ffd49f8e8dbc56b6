"""Runner test doubles for the evaluation's isolation: one that works, one that crashes, one that hangs."""

import os
import signal
import time
from pathlib import Path

import numpy as np

from pipelines.config import ModelConfig


class DoublingRunner:
    runtime = "double"

    def __init__(self, model_path: Path, model: ModelConfig):
        self.path = model_path

    def load(self, threads: int) -> None:
        pass

    def infer(self, sample: np.ndarray) -> np.ndarray:
        return sample * 2


class SegfaultRunner(DoublingRunner):
    def infer(self, sample: np.ndarray) -> np.ndarray:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")


class HangingRunner(DoublingRunner):
    def infer(self, sample: np.ndarray) -> np.ndarray:
        time.sleep(3600)
        raise AssertionError("unreachable")
