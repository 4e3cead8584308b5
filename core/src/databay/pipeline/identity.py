"""A stable identity for each link of a pipeline, derived from its definition.

A planner that runs a pipeline's links in several processes (the Celery planner of
databay-celery: a scheduler and workers, each building the pipeline from the same file)
needs to name a link so that every process, and every restart, means the same link. The
identity is ``<tags>-<digest>``, e.g. ``orders-3f2a9c1e0b7d4a51``:

- the digest is a SHA-256 of the link's table **as written** (before ``${VAR}``
  expansion, so no secret goes into it), with named components replaced by their tables
  and keys in a canonical order: the same definition gives the same identity in any
  process, and a changed definition (another URL, interval, outlet) a new one;
- moving the link within the file, reformatting it, or a new value of a ``${VAR}`` it
  uses does not change it;
- two links with the same definition (possible only without tags) get ``#2``, ``#3``...
  in the order of the file.
"""

from __future__ import annotations

import hashlib
import json
import re

from databay.pipeline.specs import ComponentSpec, LinkSpec

__all__ = ["link_identities"]

_VERSION = "databay-link-1"  # changes when what goes into the digest changes
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def link_identities(links: list[LinkSpec]) -> list[str]:
    """The identity of each of ``links`` (a checked pipeline's), in order."""
    identities: list[str] = []
    seen: dict[str, int] = {}
    for link in links:
        identity = _identity(link)
        count = seen[identity] = seen.get(identity, 0) + 1
        identities.append(identity if count == 1 else f"{identity}#{count}")
    return identities


def _identity(link: LinkSpec) -> str:
    written = dict(link.written)
    for key, value in link.arguments.items():  # named components become their tables
        if isinstance(value, ComponentSpec):
            written[key] = value.written
        elif isinstance(value, list) and value and all(isinstance(item, ComponentSpec) for item in value):
            written[key] = [item.written for item in value]
    text = json.dumps([_VERSION, written], sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    tags = link.written.get("tags")  # as written: an expanded ${VAR} could be a secret
    tags = [tags] if isinstance(tags, str) else tags if isinstance(tags, list) else []
    slug = _SLUG.sub("_", ".".join(str(tag) for tag in tags))[:48].strip("_") or "link"
    return f"{slug}-{digest}"

