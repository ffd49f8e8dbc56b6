"""The one exception type for failures a user can fix, and how a failure is shown.

A failure prints one line, `error: [where: ]message`. Set CKPT2CPP_DEBUG=1 to print, before it,
the traceback of the error and of every exception that led to it (also those raised `from None`,
which the one-line messages use to keep Python's own chain out of the normal output).
"""

import errno
import os
import sys
import traceback
from typing import TextIO

DEBUG_ENV = "CKPT2CPP_DEBUG"


class PipelineError(Exception):
    """A user-fixable failure. Its message is one line: the problem, then the fix."""


class NotApplicable(PipelineError):
    """This network cannot be exported this way (a converter or exporter cannot take it). The
    stage records the reason in the artifact's sidecar instead of failing, and the report
    shows the artifact as not applicable; the message names what avoids it."""


# What fixes an operating-system error while a stage reads inputs or writes its outputs.
_OS_FIXES = {
    errno.ENOSPC: "free space on the disk that holds the project, then dvc repro",
    errno.EDQUOT: "free space on the disk that holds the project, then dvc repro",
    errno.EROFS: "make the project's folders writable, then dvc repro",
    errno.EACCES: "make the project's folders writable, then dvc repro",
    errno.EPERM: "make the project's folders writable, then dvc repro",
    errno.ENOENT: "run the stage that builds it (dvc repro) or fix the configured path",
}


def os_failure(error: OSError) -> PipelineError:
    """An OSError from reading or writing files as one user-facing line. Without an errno (numpy
    reports a short write as "N requested and M written"), the disk is the likely cause."""
    where = f" ({error.filename})" if error.filename else ""
    what = error.strerror or f"a write failed, the disk is probably full ({error})"
    fix = _OS_FIXES.get(error.errno or errno.ENOSPC, "check the file named, then dvc repro")
    failure = PipelineError(f"{what}{where} ({fix})")
    failure.__cause__ = error
    return failure


def first_sentence(text: str) -> str:
    """The first sentence of the first non-blank line of `text`, without its full stop."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line.split(". ")[0].rstrip(".")


def first_lines(error: BaseException, count: int = 3) -> str:
    """The first `count` non-blank lines of an exception's message, joined."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " / ".join(lines[:count]) or type(error).__name__


def debug_enabled() -> bool:
    """Whether CKPT2CPP_DEBUG asks for tracebacks (any value but empty or 0)."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def cause_chain(error: BaseException) -> list[BaseException]:
    """`error`, then the exception it was raised from or while handling, and so on."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def format_chain(error: BaseException) -> str:
    """The tracebacks of `error`'s cause chain, the original cause first."""
    parts = [
        "".join(traceback.format_exception(link, chain=False))
        for link in reversed(cause_chain(error))
    ]
    return "\nwhich led to:\n\n".join(parts)


def report(error: BaseException, where: str | None = None, stream: TextIO | None = None) -> None:
    """Print `error` as one line on stderr, after its full cause chain when debugging is on."""
    stream = stream or sys.stderr
    if debug_enabled():
        print(format_chain(error), file=stream)
    prefix = f"error: {where}: " if where else "error: "
    print(prefix + str(error), file=stream)
