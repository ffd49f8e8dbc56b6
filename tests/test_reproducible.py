"""Clean runs are bit-identical: a stage run again from the same inputs writes the same bytes."""

import pytest

from tests.conftest import assert_up_to_date, lock_outs, run

pytestmark = pytest.mark.pipeline

# Every stage whose artifact must not depend on when or how often it was built. Not here:
# build_cpp (the runners embed this checkout's absolute library paths), evaluate (latency) and
# package (its bundles record the example's timings).
REPRODUCIBLE = ["checkpoint", "freeze", "savedmodel", "quantize@int8", "trace@trace"]


def test_rebuilding_every_artifact_gives_identical_bytes(tiny_project):
    before = lock_outs(tiny_project)
    run(["dvc", "repro", "--force", "--single-item", *REPRODUCIBLE], tiny_project, timeout=1800)
    after = lock_outs(tiny_project)
    changed = {stage: after[stage] for stage in REPRODUCIBLE if after[stage] != before[stage]}
    assert changed == {}
    run(["dvc", "repro"], tiny_project)
    assert_up_to_date(tiny_project)
