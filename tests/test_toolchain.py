"""`python -m pipelines.toolchain`: rewrite cpp/toolchain.json when the machine differs, or check."""

import json
import shutil

import pytest

from pipelines import toolchain
from tests.conftest import REPO


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory holding a copy of this checkout's cpp/toolchain.json."""
    (tmp_path / "cpp").mkdir()
    shutil.copy(REPO / toolchain.LOCK, tmp_path / toolchain.LOCK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_refuses_a_stale_lock_in_one_line_and_writes_nothing(project, capsys):
    stale = {**json.loads(toolchain.LOCK.read_text()), "cmake": "cmake version 0.1"}
    toolchain.LOCK.write_text(json.dumps(stale))
    assert toolchain.main(["--check"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {toolchain.LOCK} does not describe")
    assert "cmake version 0.1" in lines[0]
    assert json.loads(toolchain.LOCK.read_text()) == stale


def test_without_flags_a_stale_lock_is_rewritten(project, capsys):
    toolchain.LOCK.write_text("{}")
    assert toolchain.main([]) == 0
    assert "updated" in capsys.readouterr().out
    assert toolchain.main(["--check"]) == 0
    assert json.loads(toolchain.LOCK.read_text()) == toolchain.fingerprint()


def test_a_compiler_that_fails_is_one_line(project, capsys, monkeypatch):
    monkeypatch.setenv("CXX", "false")
    assert toolchain.main(["--check"]) == 1
    assert capsys.readouterr().err == "error: `false --version` failed (exit code 1): no output\n"


def test_unknown_flags_are_refused():
    with pytest.raises(SystemExit) as exited:
        toolchain.main(["--chek"])
    assert exited.value.code == 2
