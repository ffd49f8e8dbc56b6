"""Runner test doubles for the evaluation's isolation: one that works, one that crashes, one that hangs."""

import os
import signal
import time
from pathlib import Path

from pipelines import tensors
from pipelines.backends.base import OpTime
from pipelines.config import ModelConfig
from pipelines.tensors import Tensors


class DoublingRunner:
    runtime = "double"

    def __init__(self, model_path: Path, model: ModelConfig):
        self.path, self.model = model_path, model

    def load(self, threads: int) -> None:
        pass

    def infer(self, sample: Tensors) -> Tensors:
        return {self.model.output_names[0]: tensors.first(sample) * 2}


class CallLoggingRunner(DoublingRunner):
    """Appends its process id to the file $CKPT2CPP_TEST_CALLS on every inference, so a test
    can see which runner ran when."""

    profiler = "call counter"

    def infer(self, sample: Tensors) -> Tensors:
        with open(os.environ["CKPT2CPP_TEST_CALLS"], "a") as log:
            log.write(f"{os.getpid()}\n")
        return super().infer(sample)

    def profile(self, samples: list[Tensors], runs: int) -> list[OpTime]:
        for k in range(runs):  # slowly: a runner still timing would log calls in between
            time.sleep(0.05)
            self.infer(samples[k % len(samples)])
        return [OpTime(name="double #0", kind="double", ms=0.0)]


class SlowLoadingRunner(DoublingRunner):
    """Appends `load PID` and `loaded PID` to $CKPT2CPP_TEST_CALLS around a slow load, so a
    test can see which runners were loading at the same time."""

    def load(self, threads: int) -> None:
        with open(os.environ["CKPT2CPP_TEST_CALLS"], "a") as log:
            log.write(f"load {os.getpid()}\n")
        time.sleep(2)
        with open(os.environ["CKPT2CPP_TEST_CALLS"], "a") as log:
            log.write(f"loaded {os.getpid()}\n")


class EchoRunner(DoublingRunner):
    """Returns input i as output i (several inputs and outputs, in config order)."""

    def infer(self, sample: Tensors) -> Tensors:
        names = [t.name for t in self.model.input_tensors]
        return dict(zip(self.model.output_names, (sample[n] for n in names), strict=True))


class SegfaultRunner(DoublingRunner):
    def infer(self, sample: Tensors) -> Tensors:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")


class HangingRunner(DoublingRunner):
    def infer(self, sample: Tensors) -> Tensors:
        time.sleep(3600)
        raise AssertionError("unreachable")
