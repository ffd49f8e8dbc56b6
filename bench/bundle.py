"""A deploy bundle's example against its runtime's runner (litert_runner, torch_runner,
tf_runner) on the same model and samples: both are built on the ckpt2cpp library, so what the
evaluation measured is what a bundle ships only if their p50 are equal. They take turns, round
after round, in one run.

    python bench/bundle.py [--rounds 7] [--runs 50]

Needs `make run` (dist/ and build/bin/). Each x86-64 bundle's example is built in a scratch
folder from the bundle alone, as a user builds it.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines import jsonfile, paths
from pipelines.package.proof import STATS, scrubbed_env


def _runner_p50(runner: str, bundle: Path, scratch: Path, runs: int) -> float:
    """`runner` on the bundle's model and samples: its p50 (one round of `runs`). TensorFlow's
    graph nodes come from the bundle's model.json, as the evaluation passes them."""
    stats = scratch / "stats.json"
    (model,) = [p for p in (bundle / "model").iterdir() if p.name != "model.json"]
    described = jsonfile.read(bundle / "model/model.json")
    command = [str(paths.CPP_BIN / runner), "--model", str(model), "--runs", str(runs),
               "--json", str(stats)]  # fmt: skip
    for kind, folder in (("input", bundle / "samples"), ("output", scratch)):
        for t in described[f"{kind}s"]:
            command += [f"--{kind}", f"{t['name']}={folder / t['name']}.npy"]
            if runner == "tf_runner":
                command += [f"--{kind}-node", f"{t['name']}={t['node']}"]
    subprocess.run(command, check=True, capture_output=True)
    return float(json.loads(stats.read_text())["p50_ms"])


def _example_p50(example: Path, bundle: Path, scratch: Path, runs: int) -> float:
    """The bundle's example on its samples: the p50 it prints."""
    done = subprocess.run(
        [str(example), str(bundle / "model"), str(bundle / "samples"), str(scratch), str(runs)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = STATS.search(done.stdout)
    assert found is not None, done.stdout
    return float(found["p50_ms"])


def measure(rounds: int, runs: int) -> list[str]:
    """One table row per x86-64 bundle in dist/: both p50s (median of the rounds) and their ratio."""
    rows = ["| bundle | runner | runner p50 ms | example p50 ms | example / runner |",
            "|---|---|---|---|---|"]  # fmt: skip
    summary = jsonfile.read(paths.DIST / "bundles.json")
    for name, record in summary["bundles"].items():
        if record["platform"] != "x86_64":
            continue
        bundle, program = paths.DIST / name, f"{record['runtime']}_runner"
        with tempfile.TemporaryDirectory() as tmp:
            scratch, build = Path(tmp), Path(tmp) / "build"
            env = scrubbed_env(scratch)
            for command in (["cmake", "-S", str(bundle / "examples"), "-B", str(build)],
                            ["cmake", "--build", str(build)]):  # fmt: skip
                subprocess.run(command, check=True, capture_output=True, env=env)
            runner, example = [], []
            for _ in range(rounds):
                runner.append(_runner_p50(program, bundle, scratch, runs))
                example.append(_example_p50(build / "example", bundle, scratch, runs))
        r, e = statistics.median(runner), statistics.median(example)
        rows.append(f"| `{name}` | {program} | {r:.3f} | {e:.3f} | {e / r:.2f} |")
    return rows


def section(rounds: int = 7, runs: int = 50) -> str:
    """The bundle section of bench/README.md."""
    return "\n".join(measure(rounds, runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print(section(args.rounds, args.runs))


if __name__ == "__main__":
    main()
