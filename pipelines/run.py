"""Run one artifact in a Python runtime with the same command line as the C++ runners.

    python -m pipelines.run --runtime tflite --model artifacts/tflite/int8/model.tflite \\
        --input in.npy --output out.npy [--warmup 5] [--runs 20] [--rounds 1] [--interleaved] \\
        [--threads 1] [--json stats.json] [--profile ops.json]

A model with several inputs or outputs takes one `--input NAME=FILE` per input and one
`--output NAME=FILE` per output (names as in the model config), as the C++ runners do.

--runtime is a key of pipelines.backends.registry.PYTHON_RUNNERS (keras, savedmodel, frozen,
tflite, torch, torch_export) or the dotted path of a runner class of your own.
The original-model runtimes (keras, torch) also read the network definition from params.yaml.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from pipelines import jsonfile, tensors
from pipelines.atomic import atomic_path
from pipelines.backends.base import Profiled, RoundHooks, Timing, benchmark
from pipelines.config import ConfigError, load
from pipelines.errors import PipelineError, first_sentence, os_failure, report
from pipelines.tensors import Tensors


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--input", required=True, action="append", metavar="[NAME=]FILE")
    parser.add_argument("--output", required=True, action="append", metavar="[NAME=]FILE")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="print 'ready' once loaded, wait for a line on stdin before each round and print "
        "'round K p50 MS' after it, then wait for a line or EOF before profiling and writing "
        "(how the evaluation takes turns between runners)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--profile",
        type=Path,
        help="after the timed runs, profile --runs more per op and write the times as JSON",
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    if args.warmup < 0 or min(args.runs, args.rounds, args.threads) < 1:
        parser.error("--warmup must be >= 0, --runs, --rounds and --threads >= 1")
    for flag in ("input", "output"):
        values = [_split(v) for v in getattr(args, flag)]
        named = [name for name, _ in values if name]
        if len(values) > 1 and len(named) != len(values):
            parser.error(f"several --{flag} values must all be NAME=FILE")
        if len(set(named)) != len(named):
            parser.error(f"a --{flag} NAME is given twice")
        setattr(args, flag, values)
    return args


def _split(value: str) -> tuple[str, Path]:
    """`NAME=FILE` -> (NAME, FILE) when there is an `=` with no `/` before it, else ("", FILE)
    (the C++ runners' rule: write ./a=b.npy for a file named a=b.npy)."""
    name, sep, rest = value.partition("=")
    return (name, Path(rest)) if sep and "/" not in name else ("", Path(value))


def _by_name(flag: str, values: list[tuple[str, Path]], names: list[str]) -> dict[str, Path]:
    """The files of --input or --output by the model's tensor names: FILE alone is the only
    one; NAME=FILE must name each of them."""
    if values[0][0] == "":
        if len(names) != 1:
            raise PipelineError(
                f"the model has the {flag}s {names}: give one --{flag} NAME=FILE for each"
            )
        return {names[0]: values[0][1]}
    given = dict(values)
    if sorted(given) != sorted(names):
        raise PipelineError(
            f"--{flag} names {sorted(given)} do not match the model's {flag}s {names} "
            f"(give one --{flag} NAME=FILE for each)"
        )
    return {name: given[name] for name in names}


NPY_MAGIC = b"\x93NUMPY"


def read_inputs(path: Path) -> np.ndarray:
    """The samples in the .npy file `path` ([N, ...], N >= 1), read without pickle."""
    if not path.is_file():
        raise PipelineError(f"input {path} not found (check --input)")
    with open(path, "rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise PipelineError(f"{path} is not a .npy file (save the samples with np.save)")
    try:
        inputs = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise PipelineError(
            f"{path} is truncated or corrupt: {first_sentence(str(error)) or 'it ends early'} "
            "(save the samples again with np.save)"
        ) from error
    if inputs.ndim < 1 or len(inputs) == 0:
        raise PipelineError(f"{path} has shape {inputs.shape}; expected [N, ...] with N >= 1")
    return inputs


def _wait_for_turn(round_: int) -> None:
    if round_ == 0:
        print("ready", flush=True)
    if not sys.stdin.readline():
        raise PipelineError(
            f"stdin closed before round {round_ + 1} (--interleaved waits for a line on stdin "
            "before each round; leave it out to run on your own)"
        )


def _report_round(round_: int, p50_ms: float) -> None:
    print(f"round {round_ + 1} p50 {p50_ms:.6f}", flush=True)


TAKE_TURNS = RoundHooks(before=_wait_for_turn, after=_report_round)


def write_profile(runner: Profiled, inputs: Tensors, runs: int, path: Path) -> None:
    """Profile `runs` inferences (run k: sample k % N) of a loaded runner and write the op times
    as the C++ runners do: {"runtime", "profiler", "runs", "ops": [{"name", "kind", "ms"}]}."""
    samples = [tensors.rows(inputs, i, i + 1) for i in range(tensors.count(inputs))]
    ops = runner.profile(samples, runs)
    record = {
        "runtime": runner.runtime,
        "profiler": runner.profiler,
        "runs": runs,
        "ops": [dataclasses.asdict(op) for op in ops],
    }
    with atomic_path(path) as tmp:
        jsonfile.write(tmp, record)


def _profile_after(runner: Profiled, inputs: Tensors, runs: int, path: Path) -> None:
    """write_profile, as a diagnosis: if the profiler fails, the run's results still stand."""
    try:
        write_profile(runner, inputs, runs, path)
    except Exception as error:  # any profiler failure: the run is already written
        print(f"warning: no --profile written: {first_sentence(str(error))}", file=sys.stderr)


def run(args: argparse.Namespace) -> str:
    """Benchmark the model on the inputs, write the outputs (and stats); a one-line summary."""
    from pipelines.backends.registry import python_runner

    # the inputs before the config, so that a bad input file is the error a user sees first
    arrays = {path: read_inputs(path) for _, path in args.input}
    cfg = load(args.params)
    sources = _by_name("input", args.input, [t.name for t in cfg.model.input_tensors])
    destinations = _by_name("output", args.output, cfg.model.output_names)
    inputs = {name: arrays[path] for name, path in sources.items()}
    runner = python_runner(args.runtime, args.model, cfg)
    profiled = runner if isinstance(runner, Profiled) else None
    if args.profile and profiled is None:
        raise PipelineError(
            f"--profile is not supported by the {args.runtime} runtime here "
            "(LiteRT is profiled by build/bin/litert_runner --profile)"
        )
    timing = Timing(
        warmup=args.warmup,
        runs=args.runs,
        rounds=args.rounds,
        threads=args.threads,
        between=TAKE_TURNS if args.interleaved else RoundHooks(),
    )
    sources_named = {name: str(path) for name, path in sources.items()}
    outputs, stats = benchmark(runner, str(args.model), inputs, timing, sources_named)
    if args.interleaved:  # the others may still be timing: go on when told (a line, or EOF)
        sys.stdin.readline()
    for name, path in destinations.items():
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, outputs[name])
    if args.json:
        with atomic_path(args.json) as tmp:
            jsonfile.write(tmp, stats.to_json())
    if args.profile and profiled is not None:
        _profile_after(profiled, inputs, args.runs, args.profile)
    shapes = ", ".join(f"{path} {list(outputs[n].shape)}" for n, path in destinations.items())
    return (
        f"{args.runtime}: {stats.samples} samples -> {shapes}; "
        f"load {stats.load_ms:.1f} ms, first {stats.first_run_ms:.2f} ms, p50 {stats.p50_ms:.3f} ms"
    )


def main(argv: list[str]) -> int:
    """Run the command line `argv`; a failure a user can fix prints one `error:` line, exit 1."""
    args = parse(argv)
    try:
        print(run(args))
    except (PipelineError, ConfigError) as error:
        report(error)
        return 1
    except OSError as error:  # an unreadable input, a full or read-only disk
        report(os_failure(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
