"""The one way the pipeline writes and reads its JSON files (sidecars, stats, summaries)."""

import json
from pathlib import Path
from typing import Any


def dumps(content: Any, sort_keys: bool = False) -> str:
    """`content` as indented JSON text ending in a newline (what every file written here holds)."""
    return json.dumps(content, indent=2, sort_keys=sort_keys) + "\n"


def write(path: Path, content: Any, sort_keys: bool = False) -> None:
    """Write `content` to `path` as indented JSON (keys sorted when `sort_keys`)."""
    path.write_text(dumps(content, sort_keys))


def read(path: Path) -> Any:
    """The JSON content of `path`."""
    return json.loads(path.read_text())
