"""Outputs appear whole or not at all."""

import pytest

from pipelines.atomic import atomic_outputs, atomic_path


def test_success_replaces_the_old_output(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_keeps_the_old_outputs_and_leaves_no_temporaries(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b"
    first.write_text("previous")
    with pytest.raises(RuntimeError), atomic_outputs(first, second) as (tmp_a, tmp_b):
        tmp_a.write_text("half-written")
        tmp_b.mkdir()
        raise RuntimeError("the stage failed")
    assert first.read_text() == "previous"
    assert not second.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_block_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "never"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_temporaries_left_by_a_killed_run_are_removed(tmp_path):
    stale = tmp_path / ".out.tmp99999"
    stale.mkdir()
    with atomic_path(tmp_path / "out") as tmp:
        tmp.write_text("ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
