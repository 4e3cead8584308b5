"""File names from templates: :class:`FilenameTemplate`.

A template is a Python format string over these fields:

- ``{tags}``: the link's tags, joined with ``.`` (as databay writes an update);
- ``{update}``: the transfer number (an int: ``{update:06d}`` pads it);
- ``{uuid}``: 32 hex digits, new for each file; on a staged link derived from the batch
  (``Stage.BATCH_ID``), so a batch delivered again gets the same name;
- ``{batch}``: the staged batch's id (``<stage uid>-<batch number>``); needs a link with a stage;
- ``{time}``: the time of the push, in UTC, formatted with ``strftime`` codes
  (``{time:%Y/%m/%d/%H%M%S}``; plain ``{time}`` is ``20240501T120000Z``);
- ``{ext}``: the format's file extension (``jsonl``, ``csv``, ``json``, ``bin``).

On a staged link ``{time}`` and ``{update}`` are those of the batch's commit to the stage
(``Stage.BATCH_TIME``, ``Stage.BATCH_UPDATE``): every field then gives a batch the same
value at every delivery.

Slashes make subdirectories. A name must be relative and stay inside the endpoint's
directory: no empty, ``.`` or ``..`` segment, no control character.
"""

from __future__ import annotations

import datetime
import string
import uuid
from typing import Any

from databay_ftp.errors import FtpFormatError

FIELDS = ("tags", "update", "uuid", "batch", "time", "ext")
"""The fields a template may use."""

DEFAULT_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_NAME_LENGTH = 1024

_NAMESPACE = uuid.UUID("6f1c1f3e-5c2b-4d6a-9a47-0d8b1e2f7c11")  # of the uuids derived from stable ids
_EXAMPLE = {"tags": "tags", "update": 1, "uuid": "0" * 32, "batch": "uid-1",
            "time": None, "ext": "jsonl"}


class TransferTime(datetime.datetime):
    """A UTC time whose empty format spec gives :data:`DEFAULT_TIME_FORMAT`."""

    def __format__(self, spec: str) -> str:
        return self.strftime(spec or DEFAULT_TIME_FORMAT)


def transfer_time(at: datetime.datetime | None = None) -> TransferTime:
    """``at`` (default: now; naive: taken as UTC) as a :class:`TransferTime` in UTC."""
    at = at or datetime.datetime.now(datetime.UTC)
    if at.tzinfo is not None:
        at = at.astimezone(datetime.UTC)
    return TransferTime(at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond,
                        tzinfo=datetime.UTC)


def transfer_number(update: str) -> int:
    """The transfer number of an update's text, as a stage stamps it (``Stage.BATCH_UPDATE``):
    ``'todos.17'`` and ``'17'`` give 17.

    :raises ValueError: the text does not end with a number.
    """
    number = update.rpartition(".")[2] if isinstance(update, str) else ""
    if not (number.isascii() and number.isdigit()):
        raise ValueError(f"{update!r} is not the text of an update ('<tags>.<transfer number>')")
    return int(number)


def stable_uuid(key: str) -> str:
    """32 hex digits that only depend on ``key`` (a stable id)."""
    return uuid.uuid5(_NAMESPACE, key).hex


def random_uuid() -> str:
    """32 new random hex digits."""
    return uuid.uuid4().hex


class FilenameTemplate:
    """A checked file name template (see the module's docs).

    :raises ValueError: the template names an unknown field, has a bad format spec or
        cannot give a valid name.
    """

    __slots__ = ("template", "fields")

    def __init__(self, template: str, owner: str = "FtpOutlet"):
        if not isinstance(template, str) or not template.strip():
            raise ValueError(f"{owner}: filename must be a non-empty template string, got {template!r}")
        fields: set[str] = set()
        try:
            for _, field, _, _ in string.Formatter().parse(template):
                if field is None:
                    continue
                if field not in FIELDS:
                    raise ValueError(f"unknown field {{{field}}}; the fields are "
                                     f"{', '.join('{' + f + '}' for f in FIELDS)}")
                fields.add(field)
            self.template = template
            self.fields = frozenset(fields)
            check_name(self.render({**_EXAMPLE, "time": transfer_time()}))
        except (ValueError, FtpFormatError) as exc:
            raise ValueError(f"{owner}: invalid filename template {template!r}: {exc}") from None

    def render(self, values: dict[str, Any]) -> str:
        """The name for ``values`` (a value for each field used)."""
        return self.template.format_map(values)

    def __repr__(self) -> str:
        return f"FilenameTemplate({self.template!r})"


def check_name(name: str) -> str:
    """``name`` if it is a valid relative path for a file.

    :raises FtpFormatError: it is absolute, empty, too long, or has a ``.``, ``..`` or empty
        segment or a control character.
    """
    if not name or len(name) > MAX_NAME_LENGTH:
        raise FtpFormatError(f"the file name {name[:80]!r} is empty or longer than {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        raise FtpFormatError(f"the file name {name!r} contains a control character")
    if name.startswith("/") or any(part in ("", ".", "..") for part in name.split("/")):
        raise FtpFormatError(f"the file name {name!r} must be a relative path without empty, '.' or '..' parts")
    return name
