"""The README and docs/: short enough to read in five minutes, and nothing in them stale.

Every relative link resolves (a `#anchor` to a heading of its page), and every command shown keeps
working: each `python -m MODULE` is a module of the project, each `make TARGET` a Makefile target,
each `dvc SUB` a dvc subcommand (`dvc SUB --help` exits 0), and each project path in backticks
exists. Nothing is built: it reads the Markdown, the Makefile and the tree, and asks dvc for help.
"""

import functools
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines import deps
from tests.conftest import REPO

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 150
# The commands a fresh machine starts with; CI requires the README to begin with exactly these.
FIRST_COMMANDS = [
    "make run     # set up .venv, then `dvc repro` the bundled example (checkpoint -> C++ -> report)",
    "make test    # set up .venv and what the tests need (Chromium, sshd, moto), then run the tests",
]
# A path in backticks under one of these folders must exist.
PROJECT_FOLDERS = (
    "conf/",
    "pipelines/",
    "cpp/",
    "stages/",
    "tests/",
    "bench/",
    "scripts/",
    "docs/",
)
# The generated tables, by the page their generators and readers use.
GENERATED = {
    deps.TABLES_PAGE: ["deps-table", "params-table"],
    "docs/your-model.md": ["gallery"],  # tests/test_gallery.py
    "docs/errors.md": ["bad-inputs"],  # tests/test_bad_inputs.py
}

FENCE = re.compile(r"^```([\w+-]*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$", re.MULTILINE)
SHELL_BLOCKS = ("sh", "bash", "shell", "console")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")
PLACEHOLDER = re.compile(r"[<>{}*$]|\.\.\.")


@dataclass(frozen=True)
class Page:
    path: Path
    text: str

    @property
    def name(self) -> str:
        return self.path.relative_to(REPO).as_posix()

    @functools.cached_property
    def prose(self) -> str:
        """The text with fenced code blocks blanked out (line numbers kept)."""
        return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), self.text)

    def shell_lines(self) -> list[str]:
        """Every command line of the sh/bash blocks, continuation lines joined."""
        found = []
        for lang, body in FENCE.findall(self.text):
            if lang in SHELL_BLOCKS:
                found += body.replace("\\\n", " ").splitlines()
        return found

    def spans(self) -> list[str]:
        """Every inline code span outside code blocks, whitespace (line breaks) collapsed."""
        return [" ".join(span.split()) for span in SPAN.findall(self.prose)]

    def links(self) -> list[str]:
        return LINK.findall(self.prose)


def page(path: Path) -> Page:
    return Page(path, path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (repeats get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for _, heading in HEADING.findall(page(path).prose):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(doc: Page) -> list[str]:
    """Each relative link of `doc` to a missing file or a missing heading of an existing one."""
    problems = []
    for target in doc.links():
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (doc.path.parent / file_part).resolve() if file_part else doc.path
        if not path.exists():
            problems.append(f"{doc.name}: link to {target}: {file_part} does not exist")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{doc.name}: link to {target}: no heading #{anchor} in {file_part}")
    return problems


def commands(doc: Page) -> list[list[str]]:
    """Every command shown: the segments of each sh-block line and of each code span that is a
    command, as words, environment assignments and comments dropped."""
    found = []
    for line in [*doc.shell_lines(), *doc.spans()]:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # an unbalanced quote: a span that is not a shell command
            continue
        segment: list[str] = []
        for word in [*words, ";"]:
            if word in (";", "&&", "||", "|"):
                while segment and ENV_ASSIGNMENT.match(segment[0]):
                    segment.pop(0)
                if segment:
                    found.append(segment)
                segment = []
            else:
                segment.append(word)
    return found


def modules_named(doc: Page) -> list[str]:
    """The MODULE of every `python -m MODULE` shown (placeholders such as stages.<name> left out)."""
    found = []
    for words in commands(doc):
        for k, word in enumerate(words[:-2]):
            if re.fullmatch(r"(\S*/)?python(3(\.\d+)?)?", word) and words[k + 1] == "-m":
                module = words[k + 2]
                if not PLACEHOLDER.search(module):
                    found.append(module)
    return found


def module_exists(module: str) -> bool:
    """A project module (a package must have a __main__.py to run with -m), or, outside the
    project packages, an installed one."""
    path = REPO / module.replace(".", "/")
    if (REPO / module.split(".")[0]).is_dir():
        return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()
    return importlib.util.find_spec(module) is not None


def make_targets() -> set[str]:
    targets = set()
    for line in (REPO / "Makefile").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*?)\s*:(?!=)", line):
            targets.update(t for t in match[1].split() if not t.startswith("."))
        if line.startswith(".PHONY:"):
            targets.update(line.split(":", 1)[1].split())
    return targets


def make_targets_named(doc: Page) -> list[str]:
    """The TARGET of every `make TARGET` shown (a bare `make` names none)."""
    found = []
    for words in commands(doc):
        if words[0] == "make":
            found += [w for w in words[1:2] if not w.startswith("-") and "=" not in w]
    return found


def dvc_commands_named(doc: Page) -> list[tuple[str, ...]]:
    """Every `dvc SUB [SUBSUB]` shown: its leading plain words (`exp run`, `remote add`)."""
    found = []
    for words in commands(doc):
        if Path(words[0]).name != "dvc":
            continue
        leading: list[str] = []
        for word in words[1:3]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            leading.append(word)
        if leading:
            found.append(tuple(leading))
    return found


def dvc_executable() -> str:
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.exists() else shutil.which("dvc") or "dvc"


@functools.cache
def dvc_accepts(subcommand: tuple[str, ...]) -> bool:
    """Whether `dvc SUB [SUBSUB] --help` exits 0 (argparse refuses an unknown subcommand)."""
    result = subprocess.run(
        [dvc_executable(), *subcommand, "--help"], capture_output=True, check=False, timeout=120
    )
    return result.returncode == 0


def paths_named(doc: Page) -> list[str]:
    """Every project path shown in backticks or in a shell block, `file.py:function` as the file,
    placeholders (`<name>`, `{a,b}`, `*`) left out."""
    found = []
    for text in [*doc.spans(), *doc.shell_lines()]:
        for token in re.split(r"[\s,;()'\"=]+", text):
            path = token.split(":")[0].rstrip(".")
            if path.startswith(PROJECT_FOLDERS) and not PLACEHOLDER.search(path):
                found.append(path)
    return found


ALL = pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines"
    assert lines[:6] == ["# ckpt2cpp", "", "```sh", *FIRST_COMMANDS, "```"]
    assert "docs/report.png" in "\n".join(lines), "the README shows the report's picture"


@ALL
def test_every_relative_link_resolves(path):
    assert broken_links(page(path)) == []


@ALL
def test_every_python_module_shown_exists(path):
    doc = page(path)
    assert [m for m in modules_named(doc) if not module_exists(m)] == []


@ALL
def test_every_make_target_shown_is_in_the_makefile(path):
    doc = page(path)
    assert sorted(set(make_targets_named(doc)) - make_targets()) == []


@ALL
def test_every_dvc_subcommand_shown_exists(path):
    doc = page(path)
    assert [" ".join(c) for c in dvc_commands_named(doc) if not dvc_accepts(c)] == []


@ALL
def test_every_project_path_shown_exists(path):
    doc = page(path)
    assert sorted({p for p in paths_named(doc) if not (REPO / p).exists()}) == []


def test_every_docs_page_is_linked_from_the_index():
    index = page(REPO / "docs/README.md")
    linked = {(index.path.parent / t.partition("#")[0]).resolve() for t in index.links()}
    assert [p.name for p in PAGES[1:] if p.name != "README.md" and p not in linked] == []


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_the_generated_tables_are_where_their_generators_look(name):
    text = (REPO / name).read_text(encoding="utf-8")
    for marker in GENERATED[name]:
        start, end = f"<!-- {marker}:start -->\n", f"<!-- {marker}:end -->"
        assert text.count(start) == 1 and text.count(end) == 1, f"{name}: {marker} markers"
        assert text.index(start) < text.index(end)


def test_the_checks_see_what_the_pages_show():
    """The extractors find what they are meant to, so the tests above cannot pass vacuously."""
    docs = [page(p) for p in PAGES]
    assert "pipelines.compose" in {m for d in docs for m in modules_named(d)}
    assert {"run", "test", "bench"} <= {t for d in docs for t in make_targets_named(d)}
    assert {("repro",), ("exp", "run")} <= {c for d in docs for c in dvc_commands_named(d)}
    assert "tests/test_gallery.py" in {p for d in docs for p in paths_named(d)}
    assert sum(len(d.links()) for d in docs) > 20
    assert {"run", "test", "setup", "bench"} <= make_targets()
    assert "what-reruns-when-code-changes" in anchors(REPO / deps.TABLES_PAGE)
