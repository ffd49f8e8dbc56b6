"""What every DVC stage module shares: logging, loading params.yaml, and clean failures."""

import logging
import shutil
import signal
import sys
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TypeVar

from pipelines import sidecar
from pipelines.atomic import atomic_path
from pipelines.config import Config, ConfigError, Framework, load
from pipelines.errors import (
    DEBUG_ENV,
    NotApplicable,
    PipelineError,
    first_lines,
    format_chain,
    os_failure,
    report,
)

log = logging.getLogger("ckpt2cpp")
E = TypeVar("E", bound=Enum)


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    logging.getLogger("absl").setLevel(logging.WARNING)


def matrix_item(argv: list[str], choices: type[E], stage: str) -> E:
    """The dvc.yaml matrix item a stage was started with: `python -m stages.<stage> ITEM`."""
    if len(argv) != 1 or argv[0] not in choices.__members__:
        raise SystemExit(
            f"usage: python -m stages.{stage} ITEM  (ITEM: {', '.join(choices.__members__)})"
        )
    return choices[argv[0]]


def run_stage(name: str, body: Callable[[Config], None]) -> None:
    """Run `body` on the composed config; a user-fixable failure becomes one line and exit 1
    (with its cause chain first when CKPT2CPP_DEBUG=1)."""
    setup_logging()
    # SIGTERM (dvc, CI timeouts) should unwind like Ctrl-C so temporary outputs are removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.perf_counter()
    try:
        body(load())
    except (ConfigError, PipelineError) as error:
        report(error, name)
        sys.exit(1)
    except OSError as error:  # a full or read-only disk, a file that vanished
        report(os_failure(error), name)
        sys.exit(1)
    except Exception as error:  # a converter, runtime or network code failing in its own way
        report(unexpected(error, name), name)
        sys.exit(1)
    log.info("%s finished in %.1f s", name, time.perf_counter() - started)


STAGE_LOGS = Path("logs")


def unexpected(error: Exception, stage: str) -> PipelineError:
    """An exception nothing above turned into a user-facing line: its first line, with the
    full traceback written to logs/<stage>.log (a library's own errors run to hundreds of lines,
    a TorchScript graph diff for one)."""
    detail = STAGE_LOGS / f"{stage}.log"
    try:
        detail.parent.mkdir(exist_ok=True)
        detail.write_text(format_chain(error))
        where = f"the full traceback is in {detail}"
    except OSError:  # a read-only project: the traceback is one switch away
        where = f"{DEBUG_ENV}=1 shows the full traceback"
    failure = PipelineError(
        f"{type(error).__name__}: {first_lines(error, 1)} ({where}; if the network is fine, "
        "this is a ckpt2cpp bug: report it with that)"
    )
    failure.__cause__ = error
    return failure


def write_artifact(
    cfg: Config,
    folder: Path,
    name: str,
    framework: Framework,
    build: Callable[[Path], sidecar.Sidecar],
) -> None:
    """Build `folder/name` atomically with `build` and write the sidecar it returns. When
    `framework` is not in model.frameworks, or the network cannot be exported this way
    (NotApplicable), write a sidecar that says why instead, so DVC and later stages carry on."""
    with atomic_path(folder) as out:
        out.mkdir()
        artifact = out / name
        if framework not in cfg.model.frameworks:
            sidecar.write_skipped(artifact, f"{framework.name} is not in model.frameworks")
            return
        try:
            sidecar.write(artifact, build(artifact))
        except NotApplicable as error:
            log.warning("not applicable to this network: %s", error)
            shutil.rmtree(out)  # whatever the export left behind
            sidecar.write_skipped(artifact, str(error), not_applicable=True)
