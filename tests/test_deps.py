"""Stage dependencies derived from the code: the check, the writer, and the mutation table."""

import contextlib
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines import deps
from pipelines.code import BUILDER_LOADER, network_file
from tests.conftest import REPO, changed_by_editing, changed_stages, lock_outs, tracked_files

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def copy_sources(destination: Path) -> Path:
    """The files the dependency check reads: sources, dvc.yaml, params.yaml, and the docs page
    with the what-reruns tables."""
    for name in tracked_files():
        top = name.split("/")[0]
        if top in (*deps.PROJECT_PACKAGES, "dvc.yaml", "params.yaml") or name == deps.TABLES_PAGE:
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return destination


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file at `path` with `new`."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def problems(root: Path, params: dict = PARAMS) -> list[str]:
    return deps.check(root, params)


def test_the_project_passes_its_own_check():
    assert problems(REPO) == []


def test_a_lazy_import_missing_from_dvc_yaml_is_named_with_its_chain(tmp_path):
    root = copy_sources(tmp_path)
    with (root / "stages/build_cpp.py").open("a") as module:
        module.write("\n\ndef later():\n    from pipelines import share  # noqa\n")
    assert (
        "stage build_cpp: dvc.yaml does not list pipelines/share.py, which it executes "
        "(stages/build_cpp.py -> pipelines/share.py)"
    ) in problems(root)


def test_a_listed_file_the_stage_never_runs_is_named(tmp_path):
    root = copy_sources(tmp_path)
    edit(root / "dvc.yaml", "      - stages/build_cpp.py\n",
         "      - stages/build_cpp.py\n      - pipelines/share.py\n")  # fmt: skip
    assert problems(root) == [
        "stage build_cpp: dvc.yaml lists pipelines/share.py, which it never executes"
    ]


def test_write_repairs_dvc_yaml_and_keeps_data_deps(tmp_path):
    root = copy_sources(tmp_path)
    with (root / "stages/build_cpp.py").open("a") as module:
        module.write("\n\nimport pipelines.share  # noqa\n")
    before = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["build_cpp"]["deps"]
    deps.main(["--write", "--root", str(root)])
    after = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["build_cpp"]["deps"]
    assert problems(root) == []
    assert set(after) - set(before) == {"pipelines/share.py"}
    assert [d for d in after if not deps.is_code(d)] == [d for d in before if not deps.is_code(d)]


def test_a_config_key_the_code_reads_is_a_param_and_an_unread_one_is_not(tmp_path):
    root = copy_sources(tmp_path)
    main = "def main(cfg: Config) -> None:\n"
    edit(root / "stages/build_cpp.py", main, main + "    print(cfg.evaluate.runs)\n")
    dvc_yaml = root / "dvc.yaml"
    edit(dvc_yaml, "      - cpp.jobs\n", "      - cpp.jobs\n      - trace.atol\n")
    assert problems(root) == [
        "stage build_cpp: params does not list evaluate.runs, which its code reads",
        "stage build_cpp: params lists trace.atol, which its code never reads",
        "docs/reproducibility.md: the what-reruns tables are out of date",
    ]
    deps.main(["--write", "--root", str(root)])
    assert problems(root) == []
    build_cpp = yaml.safe_load(dvc_yaml.read_text())["stages"]["build_cpp"]
    assert build_cpp["params"] == ["cpp.build_type", "cpp.cxx_flags", "cpp.jobs", "cpp.runtimes",
                                   "evaluate.runs"]  # fmt: skip


def test_params_follow_calls_and_properties_not_whole_files():
    """trace reads trace.bf16_rtol in a function of backends/torch (the key the hand-written
    list missed); quantize reads model.input_layout only through the model.input_tensors
    property; quantize imports pipelines.data but calls none of the functions that read data.*."""
    stages = {s.name: s for s in deps.read_stages(REPO)}
    trace = deps.params_read(REPO, stages["trace"], PARAMS)
    quantize = deps.params_read(REPO, stages["quantize"], PARAMS)
    assert "trace.bf16_rtol" in trace and "trace.methods" not in trace
    assert "model.input_layout" in quantize
    assert "pipelines/data/photos.py" in deps.expected(REPO, stages["quantize"], PARAMS).all_files()
    assert not [key for key in quantize if key.startswith("data.")]
    assert deps.params_read(REPO, stages["build_cpp"], PARAMS) == [
        "cpp.build_type", "cpp.cxx_flags", "cpp.jobs", "cpp.runtimes"]  # fmt: skip


def test_a_stage_depends_on_the_modules_it_starts_by_name():
    evaluate = next(s for s in deps.read_stages(REPO) if s.name == "evaluate")
    assert "pipelines/run.py" in deps.expected(REPO, evaluate, PARAMS).static.files


def test_network_file_resolves_user_modules_packages_and_libraries(tmp_path):
    (tmp_path / "my_nets.py").write_text("def build(): ...\n")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg/__init__.py").write_text("")
    (tmp_path / "mypkg/nets.py").write_text("class Net: ...\n")
    assert network_file({"_target_": "my_nets.build"}, tmp_path) == "my_nets.py"
    assert network_file({"_target_": "mypkg.nets.Net"}, tmp_path) == "mypkg"
    assert network_file({"_target_": "keras.applications.MobileNet"}, tmp_path) == BUILDER_LOADER
    assert network_file(None, tmp_path) == BUILDER_LOADER
    assert network_file({"_target_": "pipelines.models.torch_nets.Digits"}, REPO) == (
        "pipelines/models/torch_nets.py"
    )


def test_what_a_user_network_module_imports_must_be_listed(tmp_path):
    root = copy_sources(tmp_path)
    (root / "my_nets.py").write_text("from pipelines import toolchain\n\ndef build(): ...\n")
    params = {**PARAMS, "model": {**PARAMS["model"], "keras_code": "my_nets.py"}}
    found = problems(root, params)
    assert (
        "stage checkpoint: dvc.yaml does not list pipelines/toolchain.py, which it executes "
        "(my_nets.py -> pipelines/toolchain.py)"
    ) in found
    assert not any(line.startswith("stage build_cpp: dvc.yaml does not") for line in found)


@pytest.mark.pipeline
def test_editing_each_source_file_reruns_exactly_the_stages_that_run_it(sr_project, tmp_path):
    """The mutation table: every source file, changed in a copy of a built project."""
    project = tmp_path / "project"
    # the sources and DVC's records, not the artifacts (their deps then show as deleted, which
    # changed_stages does not count); copies, not hard links, which would touch sr_project's files
    shutil.copytree(sr_project, project, ignore=shutil.ignore_patterns("artifacts", "build"))
    params = yaml.safe_load((project / "params.yaml").read_text())
    stages = deps.read_stages(project)
    wants = {s.name: deps.expected(project, s, params).all_files() for s in stages}
    variants = lock_outs(project)  # every stage, matrix variants by name (`quantize@int8`)
    assert changed_stages(project) == set(), "the built project must start unchanged"
    sources = sorted(
        p.relative_to(project).as_posix()
        for package in deps.PROJECT_PACKAGES
        for p in (project / package).rglob("*.py")
        if "__pycache__" not in p.parts
    )
    mismatches = {}
    for source in sources:
        found = changed_by_editing(project, source)
        want = {v for v in variants if source in wants[v.split("@")[0]]}
        if found != want:
            mismatches[source] = {"extra": found - want, "missing": want - found}
    assert len(sources) > 40
    assert mismatches == {}


def _leaves(tree: dict, prefix: str = "") -> dict[str, object]:
    """Every leaf key of params.yaml (a list is one value) with its value."""
    found: dict[str, object] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        found |= _leaves(value, key + ".") if isinstance(value, dict) else {key: value}
    return found


def _changed(value: object) -> object:
    """Another value of the same kind (DVC compares values; it does not validate them)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value * 2 + 1
    if isinstance(value, list):
        return value[:-1] if value else ["changed"]
    if isinstance(value, str) and value.endswith(".py"):
        return "README.md"  # a dep path dvc.yaml substitutes: another existing file
    return f"{value}_changed"


def _set(tree: dict, key: str, value: object) -> dict:
    copy = yaml.safe_load(yaml.safe_dump(tree))
    *parents, leaf = key.split(".")
    node = copy
    for parent in parents:
        node = node[parent]
    node[leaf] = value
    return copy


def _stages_whose_params_changed(stages: list) -> set[str]:
    """The stages whose params DVC finds changed in params.yaml (its ParamsDependency.status,
    what `dvc status` reports under "changed deps")."""
    from dvc.dependency.param import ParamsDependency

    return {
        stage.addressing
        for stage in stages
        for dep in stage.deps
        if isinstance(dep, ParamsDependency) and dep.status()
    }


def _changed_after_reload(project: Path) -> tuple[set[str], set[str]]:
    """(every stage dvc.yaml defines now, those `dvc status` finds a param or a dep path of
    changed): for a key dvc.yaml substitutes, which changes the stages themselves."""
    from dvc.repo import Repo

    with contextlib.chdir(project), Repo(".") as repo:
        defined = {stage.addressing for stage in repo.index.stages}
        status = repo.status()
    changed = {
        stage
        for stage, changes in status.items()
        for change in changes
        if isinstance(change, dict)
        for what in change.get("changed deps", {}).values()
        if isinstance(what, dict) or what in ("new", "modified")
    }
    return defined, changed


def test_changing_each_param_reruns_exactly_the_stages_whose_code_reads_it(sr_project, tmp_path):
    """The parameter mutation table: every leaf key of params.yaml, changed alone in a copy of
    the built project, against the keys each stage's code reads (pipelines.param_deps)."""
    from dvc.repo import Repo

    project = tmp_path / "project"
    shutil.copytree(sr_project, project, ignore=shutil.ignore_patterns("artifacts", "build"))
    params_file = project / "params.yaml"
    original = yaml.safe_load(params_file.read_text())
    rerun = deps.rerunning_stages(project, original)
    substituted = set(deps.INTERPOLATED.findall((project / "dvc.yaml").read_text()))
    leaves = _leaves(original)
    mismatches = {}
    with contextlib.chdir(project), Repo(".") as repo:
        stages = list(repo.index.stages)
        assert _stages_whose_params_changed(stages) == set(), "the copy must start unchanged"
        try:
            for key, value in leaves.items():
                params_file.write_text(yaml.safe_dump(_set(original, key, _changed(value))))
                if key in substituted:
                    defined, found = _changed_after_reload(project)
                else:
                    defined, found = (
                        {s.addressing for s in stages},
                        _stages_whose_params_changed(stages),
                    )
                labels = next(v for k, v in rerun.items() if key == k or key.startswith(k + "."))
                want = {s for s in defined if s in labels or s.split("@")[0] + "@*" in labels}
                if found != want:
                    mismatches[key] = {"extra": found - want, "missing": want - found}
        finally:
            params_file.write_text(yaml.safe_dump(original, sort_keys=False))
    assert len(leaves) >= 80
    assert mismatches == {}
