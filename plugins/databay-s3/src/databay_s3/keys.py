"""Object key templates: ``'{tags}/{time:%Y/%m/%d/%H%M%S.%f}-{uuid}.{ext}'``.

A template is ``str.format`` text whose fields may only be these names (no attribute or
index access, no conversion):

- ``{tags}``: the link's tags joined with ``.`` (``untagged`` when it has none);
- ``{update}``: the transfer, as databay names it (``tags.transfer_number``, e.g. ``todos.16``);
- ``{uuid}``: 32 hexadecimal digits, new for each object (or stable per batch on a staged link);
- ``{time}`` or ``{time:FORMAT}``: the transfer time in UTC, formatted with ``strftime``
  (``{time}`` alone is ``{time:%Y%m%dT%H%M%SZ}``);
- ``{ext}``: the format's file extension (``jsonl``, ``csv``, ``json``).
"""

from __future__ import annotations

import datetime
import string
import uuid
from dataclasses import dataclass
from typing import Any

FIELDS = ("tags", "update", "uuid", "time", "ext")
DEFAULT_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_KEY_BYTES = 1024  # S3's limit on a key's length (UTF-8)

_SAMPLE = {"tags": "tag", "update": "tag.0", "uuid": uuid.UUID(int=0).hex,
           "time": datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC), "ext": "jsonl"}


@dataclass(frozen=True)
class KeyTemplate:
    """A checked key template. Build it with :meth:`parse`."""

    text: str
    """The template as given."""
    fields: frozenset[str]
    """The names of the fields it uses."""
    _format: str

    @classmethod
    def parse(cls, text: Any, where: str) -> KeyTemplate:
        """Check ``text`` and make it a template.

        :param where: names the argument or record in errors, e.g. ``'S3Outlet: key'``.
        :raises ValueError: not a non-empty string, an unknown field, a conversion or an
            invalid time format; the message names ``where``.
        """
        if not isinstance(text, str) or not text:
            raise ValueError(f"{where} must be a non-empty string (a key template), got {text!r}")
        parts = []
        fields = set()
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ValueError(f"{where}: {text!r} is not a valid template: {exc} (write {{{{ and }}}} for "
                             f"literal braces)") from None
        for literal, name, spec, conversion in parsed:
            parts.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            if name not in FIELDS:
                raise ValueError(f"{where}: unknown field {{{name}}} in key template {text!r}; the fields are "
                                 + ", ".join(f"{{{f}}}" for f in FIELDS))
            if conversion is not None or (spec and name != "time") or "{" in (spec or ""):
                raise ValueError(f"{where}: field {{{name}}} of key template {text!r} takes no conversion or "
                                 f"format" + ("" if name != "time" else " but a strftime format, e.g. {time:%Y/%m/%d}"))
            if name == "time":
                spec = spec or DEFAULT_TIME_FORMAT
            fields.add(name)
            parts.append(f"{{{name}:{spec}}}" if spec else f"{{{name}}}")
        template = cls(text, frozenset(fields), "".join(parts))
        try:
            template.render(_SAMPLE)
        except ValueError as exc:
            raise ValueError(f"{where}: key template {text!r} cannot make a key: {exc}") from None
        return template

    def render(self, values: dict[str, Any]) -> str:
        """The key for ``values`` (a value for each of :data:`FIELDS` the template uses).

        :raises ValueError: the key is empty or longer than S3 allows.
        """
        key = self._format.format_map(values)
        if not key:
            raise ValueError("the key is empty")
        if len(key) * 4 > MAX_KEY_BYTES and len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise ValueError(f"the key is longer than {MAX_KEY_BYTES} bytes: {key[:60]}...")
        return key


def tags_text(tags: list[str]) -> str:
    """What ``{tags}`` stands for."""
    return ".".join(map(str, tags)) if tags else "untagged"


class UtcClock:
    """The current UTC time, never earlier than the last time it gave (not thread-safe:
    callers hold their own lock). Keys made by one writer thus sort in the order written."""

    _STEP = datetime.timedelta(microseconds=1)

    def __init__(self) -> None:
        self._last = datetime.datetime.min.replace(tzinfo=datetime.UTC)

    def now(self) -> datetime.datetime:
        now = datetime.datetime.now(datetime.UTC)
        if now <= self._last:
            now = self._last + self._STEP
        self._last = now
        return now
