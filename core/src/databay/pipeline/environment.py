"""``${VAR}`` and ``${VAR:-default}`` in pipeline values, read from the environment.

- ``${VAR}`` is the value of the environment variable ``VAR``; a problem if it is unset.
- ``${VAR:-default}`` is ``default`` when ``VAR`` is unset or empty (as in the shell).
  The default runs to the first ``}`` and is taken as written.
- ``$$`` is one literal ``$`` (so ``$${VAR}`` is the text ``${VAR}``). Any other ``$`` is
  kept as it is.

Every value read from the environment is a secret: it is registered with
:func:`databay.redaction.register_secret` (shown as ``${VAR}``) as it is expanded, so
that no output shows it. Defaults written in the file are not secrets.

Only string values are expanded, never keys. A string that is nothing but one ``${...}``
comes back as :class:`EnvironmentText`, so that where a constructor wants a number or a
boolean, text such as ``27017`` or ``true`` from the environment can be converted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from databay.redaction import register_secret

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvironmentText(str):
    """A whole value that came from the environment (see the module's docs)."""


class InterpolationError(ValueError):
    """A ``${...}`` that cannot be expanded."""


def expand(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with its ``${...}`` expanded and ``$$`` made ``$``.

    :raises InterpolationError: an unset variable without default, an unclosed ``${``,
        or a bad variable name.
    """
    if "$" not in text:
        return text
    parts: list[str] = []
    whole = False
    at = 0
    while True:
        dollar = text.find("$", at)
        if dollar < 0 or dollar == len(text) - 1:
            parts.append(text[at:])
            break
        parts.append(text[at:dollar])
        following = text[dollar + 1]
        if following == "$":
            parts.append("$")
            at = dollar + 2
            continue
        if following != "{":
            parts.append("$")
            at = dollar + 1
            continue
        close = text.find("}", dollar)
        if close < 0:
            raise InterpolationError(f"unclosed '${{' in {text!r} (write '$$' for a literal '$')")
        parts.append(_lookup(text[dollar + 2: close], environ))
        whole = dollar == 0 and close == len(text) - 1
        at = close + 1
    result = "".join(parts)
    return EnvironmentText(result) if whole else result


def _lookup(expression: str, environ: Mapping[str, str]) -> str:
    name, has_default, default = expression.partition(":-")
    if not _NAME.fullmatch(name):
        raise InterpolationError(
            f"'${{{expression}}}' is not a variable: write ${{NAME}} or ${{NAME:-default}}"
        )
    value = environ.get(name)
    if has_default and not value:
        return default
    if value is None:
        raise InterpolationError(
            f"environment variable {name} is not set (set it, or give a default: ${{{name}:-...}})"
        )
    register_secret(value, f"${{{name}}}")
    return value


def expand_all(value: Any, environ: Mapping[str, str], where: str = "") -> tuple[Any, list[str]]:
    """``value`` (strings, lists and tables of them) with every string expanded.

    Returns the expanded value and the problems, each prefixed with where inside
    ``value`` it is (``[1]``, ``.key``) after ``where``.
    """
    if isinstance(value, str):
        try:
            return expand(value, environ), []
        except InterpolationError as exc:
            return value, [f"{where}: {exc}" if where else str(exc)]
    problems: list[str] = []
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            expanded, found = expand_all(item, environ, f"{where}[{index}]")
            items.append(expanded)
            problems += found
        return items, problems
    if isinstance(value, dict):
        table = {}
        for key, item in value.items():
            expanded, found = expand_all(item, environ, f"{where}.{key}" if where else key)
            table[key] = expanded
            problems += found
        return table, problems
    return value, problems
