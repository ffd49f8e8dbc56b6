"""Render a page from its template: the Python side passes data, the template lays it out.

Autoescaping is on for every template, so any string that reaches a page (config values, layer
and op names, error text, sweep overrides) is escaped; nothing is marked safe.
"""

import base64
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment() -> Environment:
    """The one Jinja2 environment of the package's templates (autoescaped, strict)."""
    return Environment(
        loader=PackageLoader("pipelines.pages", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """The page `template` (a file in templates/) filled with `context`."""
    return environment().get_template(template).render(**context)


def png_uri(png: bytes) -> str:
    """A PNG as a data: URI, so a page carries its pictures inside it."""
    return "data:image/png;base64," + base64.b64encode(png).decode()
