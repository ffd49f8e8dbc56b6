"""Sweeps: Hydra multirun over DVC experiments in parallel, the sweep report, the DVC queue, and
the scale-out mode where every job works in its own clone against a shared remote."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.sweep.callback import expand_sweep
from pipelines.sweep.experiments import JobResult, experiment_name, pipeline_overrides
from pipelines.sweep.pareto import pareto_front
from pipelines.sweep.plan import PlanError, shared_stage_runs
from tests.conftest import DIGITS, REPO, env, run, set_params


def test_experiment_names_are_git_ref_safe():
    assert (
        experiment_name(["model=digits", "quantize.modes=[int8,uint8]"])
        == "model=digits,quantize.modes=-int8,uint8"
    )
    assert experiment_name([]) == "defaults"
    # long override lists that differ only at the end keep distinct names, within the limit
    common = [f"evaluate.tolerances.mode_{k}=0.5" for k in range(12)]
    names = {experiment_name([*common, f"evaluate.threads={t}"]) for t in (1, 2)}
    assert len(names) == 2 and all(len(n) <= 200 and n.startswith("evaluate.tolerances") for n in names)


def test_the_sweeps_own_settings_are_not_experiment_params():
    given = [
        "model=sr",
        "sweep.workspace=clone",
        "hydra.launcher.n_jobs=3",
        "hydra/launcher=joblib",
    ]
    assert pipeline_overrides(given) == ["model=sr"]


def test_a_sweep_expands_like_hydras_basic_sweeper():
    assert expand_sweep(["model=sr,digits", "evaluate.threads=1,2"]) == [
        ["model=sr", "evaluate.threads=1"],
        ["model=sr", "evaluate.threads=2"],
        ["model=digits", "evaluate.threads=1"],
        ["model=digits", "evaluate.threads=2"],
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=sr,digits", "evaluate.threads=1,2"],
        ["model=digits", "quantize.modes=[int8],[int8,uint8]", "+extra=a,b"],
        ["evaluate.threads=range(1,4)", "model=choice(sr,digits)"],
        ["evaluate.threads=1,2", "model=sr", "evaluate.threads=3,4"],  # a key given twice
    ],
)
def test_a_sweep_expands_exactly_as_hydras_basic_sweeper_does(overrides):
    """The sweep expands overrides with Hydra's public parser; the basic sweeper (private, so
    used only here) is the reference it must agree with."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    (batch,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    assert expand_sweep(overrides) == [list(job) for job in batch]


def test_a_sweep_over_an_interval_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"evaluate\.timeout_s: an interval cannot be swept"):
        expand_sweep(["evaluate.timeout_s=interval(1,3)"])


def test_the_pareto_front_keeps_only_undominated_points():
    points = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0), (4.0, 1.0), (2.0, 2.0)]
    assert pareto_front(points) == [0, 1, 3, 4]


def test_shared_stages_are_planned_once_and_unshared_ones_not_at_all(monkeypatch):
    monkeypatch.chdir(REPO)
    runs = shared_stage_runs([["evaluate.threads=1"], ["evaluate.threads=2"]])
    assert len(runs) == 1 and "evaluate" not in runs[0][1] and "checkpoint" in runs[0][1]
    runs = shared_stage_runs(
        [["quantize.calibration_samples=100"], ["quantize.calibration_samples=200"]]
    )
    shared = runs[0][1]
    assert (
        "trace@aoti" in shared
        and "build_cpp" in shared
        and not any(s.startswith("quantize@") for s in shared)
    )
    assert shared_stage_runs([["model=sr"], ["model=digits"]]) == [(["model=sr"], ["build_cpp"])]


def test_the_plan_resolves_dvc_yaml_with_dvc_itself(tmp_path, monkeypatch):
    """foreach and `${}` are DVC's to resolve: the plan sees the variants DVC makes."""
    monkeypatch.chdir(REPO)
    pipeline = tmp_path / "dvc.yaml"
    pipeline.write_text(
        "stages:\n  q:\n    foreach: ${quantize.modes}\n    do:\n"
        "      cmd: echo ${item}\n      params: [quantize.calibration_samples]\n"
    )
    jobs = [["quantize.modes=[int8,uint8]"], ["quantize.modes=[int8]"]]
    assert shared_stage_runs(jobs, pipeline) == [(jobs[0], ["q@int8"])]


def test_a_dvc_yaml_the_plan_cannot_resolve_stops_the_sweep_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    pipeline = tmp_path / "dvc.yaml"
    pipeline.write_text("vars: [other.yaml]\nstages:\n  a:\n    cmd: echo ${x}\n")
    (tmp_path / "other.yaml").write_text("x: 1\n")
    with pytest.raises(PlanError) as raised:
        shared_stage_runs([["evaluate.threads=1"], ["evaluate.threads=2"]], pipeline)
    message = str(raised.value)
    assert "\n" not in message and "'other.yaml' does not exist" in message
    assert "sweep.prebuild=false" in message


def most_at_once(results: list[JobResult]) -> int:
    """The most experiments that were running at the same moment, from their start and end."""
    events = sorted([(r["started"], 1) for r in results] + [(r["finished"], -1) for r in results])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def sweep(project: Path, *overrides: str) -> list[JobResult]:
    """Run a sweep and return its jobs' results, in job order."""
    before = set((project / "multirun").glob("*")) if (project / "multirun").exists() else set()
    run([sys.executable, "-m", "pipelines.sweep", "-m", *overrides], project, timeout=1800)
    (folder,) = set((project / "multirun").glob("*")) - before
    files = sorted(folder.glob("*/result.json"), key=lambda p: int(p.parent.name))
    return [json.loads(p.read_text()) for p in files]


def experiments(project: Path) -> dict[str, dict]:
    shown = json.loads(run(["dvc", "exp", "show", "--json"], project).stdout)
    return {
        rev["name"]: rev
        for row in shown
        for group in row.get("experiments") or []
        for rev in group["revs"]
        if rev.get("name")
    }


@pytest.mark.pipeline
def test_a_four_job_sweep_runs_two_at_a_time_without_touching_the_workspace(digits_project):
    head = run(["git", "rev-parse", "HEAD"], digits_project).stdout
    status = run(["git", "status", "--porcelain"], digits_project).stdout
    started = time.perf_counter()
    results = sweep(
        digits_project,
        *DIGITS,
        "evaluate.threads=1,2",
        "quantize.calibration_samples=100,200",
        "hydra.launcher.n_jobs=2",
    )
    print(f"4-job sweep, 2 in parallel: {time.perf_counter() - started:.0f} s")
    assert [r["ok"] for r in results] == [True] * 4, [r["error"] for r in results]
    assert most_at_once(results) == 2  # two at a time: never one, never three
    # the quantize stages two jobs share were built once, before the fan-out; the job with the
    # default values was built by the fixture already and restores everything
    measured = ["evaluate", "package"]  # a new evaluation, and the bundle chosen from it
    assert [r["stages_run"] for r in results] == [measured, [], measured, measured]
    names = {r["name"] for r in results}
    assert names <= set(experiments(digits_project))
    report = (digits_project / "reports/sweep.html").read_text()
    assert all(name in report for name in names) and "Pareto front" in report
    assert len((digits_project / "reports/sweep.csv").read_text().splitlines()) > 4
    assert run(["git", "rev-parse", "HEAD"], digits_project).stdout == head
    assert run(["git", "status", "--porcelain"], digits_project).stdout == status


@pytest.mark.pipeline
def test_running_the_same_sweep_again_runs_no_stage(digits_project):
    started = time.perf_counter()
    results = sweep(
        digits_project, *DIGITS, "evaluate.threads=1,2", "quantize.calibration_samples=100,200"
    )
    print(f"cached re-run of the 4-job sweep: {time.perf_counter() - started:.0f} s")
    assert [r["ok"] for r in results] == [True] * 4
    assert [r["stages_run"] for r in results] == [[]] * 4


@pytest.mark.pipeline
def test_a_failed_job_is_reported_and_does_not_stop_the_others(digits_project):
    results = sweep(digits_project, *DIGITS, "evaluate.warmup=5,-1")  # 5: the default, cached
    assert [r["ok"] for r in results] == [True, False]
    assert "evaluate.warmup=-1 is invalid" in results[1]["error"]
    report = (digits_project / "reports/sweep.html").read_text()
    assert "evaluate.warmup=-1 is invalid" in report


@pytest.mark.pipeline
def test_the_dvc_queue_runs_a_grid_in_parallel(digits_project, tmp_path):
    queued = set_params(*DIGITS, "evaluate.runs=11,12")
    run(["dvc", "exp", "run", "--queue", *queued], digits_project)
    # The workers are daemons that inherit the starter's stdout: a file, not a pipe, so that a
    # worker which outlives its queue (a celery shutdown race seen with dvc 3.67) cannot hold
    # this test on a pipe that never closes.
    with (tmp_path / "queue.log").open("w") as log:
        subprocess.run(
            ["dvc", "queue", "start", "-j", "2"],
            cwd=digits_project,
            env=env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )
    most_running = 0  # the most tasks `dvc queue status` showed running at once
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            status = run(["dvc", "queue", "status"], digits_project).stdout
            most_running = max(most_running, status.count("Running"))
            if "Queued" not in status and "Running" not in status:
                break
            time.sleep(2)
    finally:
        run(["dvc", "queue", "stop"], digits_project, check=False, timeout=120)
    assert status.count("Success") >= 2, status
    assert "Failed" not in status, status
    assert most_running == 2  # in parallel: both tasks were seen running together


@pytest.mark.pipeline
def test_clone_workspaces_scale_out_through_a_shared_remote(digits_project, tmp_path):
    """submitit's local launcher stands in for a cluster: each job clones the repo, pulls from
    the team remote, runs, and pushes its experiment and artifacts back."""
    remote = tmp_path / "team-remote"
    # the base build, from the run-cache
    run(["dvc", "exp", "run", *set_params(*DIGITS)], digits_project)
    run(["dvc", "remote", "add", "team", str(remote)], digits_project)
    run(["git", "add", "-A"], digits_project)
    run(["git", "commit", "-qm", "base build and team remote"], digits_project)
    run(["dvc", "push", "-r", "team", "--run-cache"], digits_project)
    before = set(run(["find", str(remote), "-type", "f"], tmp_path).stdout.splitlines())
    results = sweep(
        digits_project,
        *DIGITS,
        "evaluate.runs=13,14",
        "hydra/launcher=submitit_local",
        "sweep.workspace=clone",
        "sweep.remote=team",
    )
    assert [r["ok"] for r in results] == [True, True], [r["error"] for r in results]
    assert all(r["stages_run"] == ["evaluate", "package"] for r in results), [
        r["stages_run"] for r in results
    ]
    assert {r["name"] for r in results} <= set(experiments(digits_project))
    pushed = set(run(["find", str(remote), "-type", "f"], tmp_path).stdout.splitlines()) - before
    # what the jobs pushed themselves (the push before the sweep does not count): the run-cache
    # entry of each job's evaluate, and its outputs
    assert len([f for f in pushed if f"{remote}/runs/" in f]) >= 2, sorted(pushed)
    assert [f for f in pushed if f"{remote}/files/" in f], sorted(pushed)
