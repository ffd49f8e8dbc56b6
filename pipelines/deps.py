"""Each DVC stage's code and parameter dependencies, derived from the code, and a check that
dvc.yaml agrees.

    python -m pipelines.deps --check    # exit 1 naming each stage, file and key dvc.yaml misses
    python -m pipelines.deps --write    # rewrite every stage's code deps and params, and tables
    python -m pipelines.deps --table    # the "what reruns" table of every source file (TABLES_PAGE)

A stage executes its entry module (`python -m stages.<name>`) and everything that can import:
every `import` (also those inside functions), the packages' `__init__.py` on the way, modules
it starts by name (a string such as "pipelines.run" for `python -m`), resource folders it opens
by name next to itself (templates), and, for a stage that builds the network, the user's network
module that `model.keras._target_` / `model.torch._target_` name. dvc.yaml lists the last as
`${model.keras_code}` / `${model.torch_code}`, which Hydra composes from the `_target_`s.

A stage's `params:` are the config keys the functions it can reach read (pipelines.param_deps,
from mypy's types), and no other.
"""

import argparse
import ast
import functools
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines import param_deps
from pipelines.code import BUILDER_LOADER, PROJECT_PACKAGES, defining_module, module_file

NETWORK_DEPS = ("${model.keras_code}", "${model.torch_code}")
ENTRY = re.compile(r"python -m (\S+)")
DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
RESOURCE = re.compile(r"\w[\w.-]*")
INTERPOLATED = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


@dataclass
class Closure:
    """The project files a stage can execute, each with the file that first pulled it in."""

    found_by: dict[str, str | None] = field(default_factory=dict)

    @property
    def files(self) -> set[str]:
        return set(self.found_by)

    def chain(self, path: str) -> str:
        """How `path` is reached: entry -> ... -> path."""
        links = [path]
        while (parent := self.found_by.get(links[-1])) is not None:
            links.append(parent)
        return " -> ".join(reversed(links))


def _module_and_packages(root: Path, dotted: str) -> Iterator[Path]:
    """The files importing `dotted` executes: each enclosing package's __init__.py, then it."""
    parts = dotted.split(".")
    for end in range(1, len(parts) + 1):
        path = module_file(root, ".".join(parts[:end]))
        if path is not None:
            yield path


def _package_of(root: Path, path: Path) -> list[str]:
    """The package a file's relative imports start from (its folder, as module parts)."""
    return list(path.relative_to(root).parent.parts)


def _imported_names(root: Path, path: Path, tree: ast.AST) -> Iterator[str]:
    """Dotted names of every module `tree` imports or names in a string."""
    package = _package_of(root, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = defining_module(root, node.value) if DOTTED.fullmatch(node.value) else None
            if named and named.split(".")[0] in PROJECT_PACKAGES:
                yield named


def _resources(path: Path, tree: ast.AST) -> Iterator[Path]:
    """Folders and data files next to `path` that it names in a string (e.g. "templates")."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
            if not RESOURCE.fullmatch(name) or name.endswith(".py"):
                continue
            candidate = path.parent / name
            if candidate.is_file() or (
                candidate.is_dir() and not (candidate / "__init__.py").exists()
            ):
                yield candidate


@functools.cache
def direct_dependencies(root: Path, path: Path) -> frozenset[Path]:
    """The project files that executing `path` runs directly."""
    if path.is_dir() or path.suffix != ".py":
        return frozenset()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = {
        dep
        for name in _imported_names(root, path, tree)
        for dep in _module_and_packages(root, name)
    }
    return frozenset((found | set(_resources(path, tree))) - {path})


def closure(root: Path, starts: Iterable[Path]) -> Closure:
    """Every project file reachable from `starts` (themselves included)."""
    result = Closure()
    queue: list[tuple[Path, str | None]] = [(start, None) for start in starts]
    while queue:
        path, parent = queue.pop(0)
        key = path.relative_to(root).as_posix()
        if key in result.found_by:
            continue
        result.found_by[key] = parent
        queue += [(dep, key) for dep in sorted(direct_dependencies(root, path))]
    return result


def _network_starts(root: Path, params: dict) -> list[Path]:
    model = params.get("model", {})
    return [root / model[key] for key in ("keras_code", "torch_code") if model.get(key)]


def _network_files(root: Path, network: Path) -> Iterator[Path]:
    if network.is_dir():  # a user's package: every module in it
        yield from sorted(network.rglob("*.py"))
    else:
        yield network


@dataclass
class Stage:
    """One dvc.yaml stage: its entry module and the code its deps list."""

    name: str
    entry: str  # the module `python -m` runs
    declared: list[str]
    declared_params: list[str] = field(default_factory=list)
    matrix: bool = False  # one stage per matrix item (`quantize@int8`, ...)

    @property
    def label(self) -> str:
        return f"{self.name}@*" if self.matrix else self.name

    @property
    def declared_code(self) -> set[str]:
        return {dep for dep in self.declared if is_code(dep)}


def is_code(dep: str) -> bool:
    """A dvc.yaml dep this tool owns: project source (not data, artifacts or C++)."""
    top = dep.split("/")[0]
    return dep in NETWORK_DEPS or top in PROJECT_PACKAGES or dep.endswith(".py")


def read_stages(root: Path) -> list[Stage]:
    """The stages of root/dvc.yaml with a `python -m` entry module."""
    spec = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    stages = []
    for name, body in spec["stages"].items():
        match = ENTRY.search(body["cmd"])
        if match is None or module_file(root, match[1]) is None:
            raise SystemExit(f"error: stage {name}: no `python -m <project module>` in its cmd")
        declared = [str(dep) for dep in body.get("deps", [])]
        declared_params = [str(key) for key in body.get("params", [])]
        stages.append(Stage(name, match[1], declared, declared_params, matrix="matrix" in body))
    return stages


def project_files(root: Path) -> list[Path]:
    """Every Python file of the project packages."""
    return sorted(path for package in PROJECT_PACKAGES for path in (root / package).rglob("*.py"))


@functools.cache
def analysis(root: Path) -> param_deps.Analysis:
    """mypy's analysis of the project under `root` (once per process)."""
    return param_deps.Analysis(root, project_files(root))


def params_read(root: Path, stage: Stage, params: dict) -> list[str]:
    """The config keys `stage`'s code reads: what dvc.yaml's `params:` must list."""
    files = expected(root, stage, params).all_files()
    own = sorted(f for f in files if f.endswith(".py") and f.split("/")[0] in PROJECT_PACKAGES)
    # a user's network module reads no config
    return sorted(analysis(root).stage_reads([param_deps.module_name(root, root / f) for f in own]))


def interpolated_keys(stage: Stage) -> set[str]:
    """Config keys dvc.yaml substitutes into the stage's deps (`${model.keras_code}`)."""
    return {key for dep in stage.declared for key in INTERPOLATED.findall(dep)}


@dataclass
class Expected:
    """What a stage should list: static code deps, and whether it builds the network."""

    static: Closure
    network: Closure | None

    def all_files(self) -> set[str]:
        return self.static.files | (self.network.files if self.network else set())


def expected(root: Path, stage: Stage, params: dict) -> Expected:
    """The code `stage` can execute under `params` (the composed params.yaml)."""
    static = closure(root, _module_and_packages(root, stage.entry))
    if BUILDER_LOADER not in static.files:
        return Expected(static, None)
    networks = _network_starts(root, params)
    files = [f for network in networks for f in _network_files(root, network)]
    return Expected(static, closure(root, files))


def static_list(root: Path, want: Expected, params: dict) -> list[str]:
    """The literal code entries for dvc.yaml: the closure minus what the network deps name."""
    named = {p.relative_to(root).as_posix() for p in _network_starts(root, params)}
    files = want.all_files() - named
    files = {f for f in files if not any(f.startswith(n + "/") for n in named)}
    return sorted(files)


def disagreements(root: Path, stage: Stage, params: dict) -> list[str]:
    """One line per file dvc.yaml lists but the stage never runs, or runs but is not listed."""
    want = expected(root, stage, params)
    problems = []
    network_deps = set(NETWORK_DEPS) if want.network else set()
    for dep in sorted(network_deps - set(stage.declared)):
        problems.append(f"stage {stage.name}: add {dep} (it builds the configured network)")
    listed = stage.declared_code - set(NETWORK_DEPS)
    wanted = set(static_list(root, want, params))
    for dep in sorted(wanted - listed):
        chain = want.network if want.network and dep in want.network.files else want.static
        problems.append(
            f"stage {stage.name}: dvc.yaml does not list {dep}, which it executes "
            f"({chain.chain(dep)})"
        )
    for dep in sorted(listed - wanted):
        problems.append(f"stage {stage.name}: dvc.yaml lists {dep}, which it never executes")
    for dep in sorted(set(stage.declared) & set(NETWORK_DEPS) - network_deps):
        problems.append(f"stage {stage.name}: dvc.yaml lists {dep}, but it builds no network")
    read = params_read(root, stage, params)
    for key in sorted(set(read) - set(stage.declared_params)):
        problems.append(f"stage {stage.name}: params does not list {key}, which its code reads")
    for key in sorted(set(stage.declared_params) - set(read)):
        problems.append(f"stage {stage.name}: params lists {key}, which its code never reads")
    return problems


def rerun_table(root: Path, params: dict) -> str:
    """Markdown: every project source file, and the stages that rerun when it changes."""
    stages = read_stages(root)
    wants = {stage.name: expected(root, stage, params) for stage in stages}
    sources = sorted(
        path.relative_to(root).as_posix()
        for package in PROJECT_PACKAGES
        for path in (root / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    rows = ["| source file | stages that rerun when it changes |", "|---|---|"]
    network = [s.label for s in stages if wants[s.name].network]
    rows.append(f"| your network module (`model.*._target_`) | {', '.join(network)} |")
    for source in sources:
        users = [
            s.label
            for s in stages
            if any(source == f or source.startswith(f + "/") for f in wants[s.name].all_files())
        ]
        rows.append(f"| `{source}` | {', '.join(users) or '— (no stage runs it)'} |")
    return "\n".join(rows) + "\n"


# The docs page that holds both generated tables, relative to the project root.
TABLES_PAGE = "docs/reproducibility.md"
TABLE_START, TABLE_END = "<!-- deps-table:start -->\n", "<!-- deps-table:end -->\n"
PARAMS_START, PARAMS_END = "<!-- params-table:start -->\n", "<!-- params-table:end -->\n"
DEPS_LINE = re.compile(r"^( +)- (\S+)(.*)$")


def _rewritten_deps(lines: list[str], start: int, new_code: list[str]) -> tuple[list[str], int]:
    """The `deps:` list beginning at lines[start] with its code entries replaced by `new_code`."""
    end = start
    while end < len(lines) and (DEPS_LINE.match(lines[end]) or lines[end].strip().startswith("#")):
        end += 1
    match = next(filter(None, map(DEPS_LINE.match, lines[start:end])), None)
    indent = match.group(1) if match else " " * 6
    kept = [
        line for line in lines[start:end] if not ((m := DEPS_LINE.match(line)) and is_code(m[2]))
    ]
    return [f"{indent}- {dep}\n" for dep in new_code] + kept, end


def _rewritten_params(lines: list[str], start: int, keys: list[str]) -> tuple[list[str], int]:
    """The `params:` list beginning at lines[start] as `keys`, keeping each kept key's comment."""
    end = start
    comments = {}
    while end < len(lines) and (match := DEPS_LINE.match(lines[end])):
        comments[match[2]] = match[3]
        end += 1
    return [f"      - {key}{comments.get(key, '')}\n" for key in keys], end


def write_dvc_yaml(root: Path, params: dict) -> None:
    """Replace each stage's code deps and params in dvc.yaml with what the stage executes and
    reads (a stage must already have a `params:` list for its keys to be written)."""
    by_name = {stage.name: stage for stage in read_stages(root)}
    path = root / "dvc.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out: list[str] = []
    stage: Stage | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        if (name := re.match(r"^  (\w+):\s*$", line)) and name[1] in by_name:
            stage = by_name[name[1]]
        elif stage is not None and line.strip() == "deps:":
            want = expected(root, stage, params)
            code = static_list(root, want, params) + (list(NETWORK_DEPS) if want.network else [])
            block, index = _rewritten_deps(lines, index, code)
            out += block
        elif stage is not None and line.strip() == "params:":
            block, index = _rewritten_params(lines, index, params_read(root, stage, params))
            out += block
    path.write_text("".join(out), encoding="utf-8")


def rerunning_stages(root: Path, params: dict) -> dict[str, list[str]]:
    """Per config key, the stages (by label) a change of it reruns: those whose code reads it,
    and those whose dvc.yaml deps substitute it (`${model.keras_code}`)."""
    stages = read_stages(root)
    reads = {s.label: set(params_read(root, s, params)) | interpolated_keys(s) for s in stages}
    return {
        key: [label for label, keys in reads.items() if key in keys]
        for key in sorted(param_deps.schema().keys)
    }


def params_table(root: Path, params: dict) -> str:
    """Markdown: every config key, and the stages that rerun when it changes."""
    rows = ["| config key | stages that rerun when it changes |", "|---|---|"]
    for key, labels in rerunning_stages(root, params).items():
        rows.append(f"| `{key}` | {', '.join(labels) or '— (no stage reads it)'} |")
    return "\n".join(rows) + "\n"


def _with_table(page: str, table: str, start: str = TABLE_START, end: str = TABLE_END) -> str:
    head, found, rest = page.partition(start)
    if not found or end not in rest:
        raise SystemExit(f"error: {TABLES_PAGE} has no {start.strip()} ... section")
    return head + start + table + end + rest.partition(end)[2]


def _with_tables(root: Path, page: str, params: dict) -> str:
    """`page` (TABLES_PAGE's text) with both generated tables brought up to date."""
    page = _with_table(page, rerun_table(root, params))
    return _with_table(page, params_table(root, params), PARAMS_START, PARAMS_END)


def check(root: Path, params: dict) -> list[str]:
    """Every disagreement between the code and dvc.yaml or the tables in TABLES_PAGE."""
    problems = [line for stage in read_stages(root) for line in disagreements(root, stage, params)]
    page = (root / TABLES_PAGE).read_text(encoding="utf-8")
    if _with_tables(root, page, params) != page:
        problems.append(f"{TABLES_PAGE}: the what-reruns tables are out of date")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.deps", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="fail where dvc.yaml disagrees")
    action.add_argument("--write", action="store_true", help="rewrite dvc.yaml and the table")
    action.add_argument("--table", action="store_true", help="print the what-reruns table")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    root = args.root.resolve()
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    if args.table:
        print(rerun_table(root, params), end="")
    elif args.write:
        write_dvc_yaml(root, params)
        page = root / TABLES_PAGE
        text = _with_tables(root, page.read_text(encoding="utf-8"), params)
        page.write_text(text, encoding="utf-8")
        print(f"wrote dvc.yaml deps and params, and the tables in {TABLES_PAGE}")
    else:
        problems = check(root, params)
        for problem in problems:
            print(f"error: {problem} (fix: python -m pipelines.deps --write)", file=sys.stderr)
        if problems:
            return 1
        print("dvc.yaml lists exactly the code every stage executes and the params it reads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
