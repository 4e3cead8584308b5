"""The first-party plugin distributions and what they provide.

Only names live here: core never imports a plugin. They serve the "pip install ..." hints
of unknown components and the short names of ``databay install`` (``http`` means
``databay-http``).
"""

from __future__ import annotations

# Each of these plugins provides an inlet and an outlet: "http" and HttpInlet/HttpOutlet.
_NODE_PLUGINS = {"http": "Http", "mongo": "Mongo", "csv": "Csv", "s3": "S3", "sql": "Sql", "ftp": "Ftp"}


def _nodes(kind: str) -> dict[str, str]:
    """The short names and class names of the node plugins' components of ``kind``."""
    names: dict[str, str] = {}
    for short, stem in _NODE_PLUGINS.items():
        names[short] = names[stem + kind.capitalize()] = f"databay-{short}"
    return names


KNOWN_COMPONENTS: dict[str, dict[str, str]] = {
    "inlet": _nodes("inlet"),
    "outlet": _nodes("outlet"),
    "planner": {"aps": "databay-aps", "apsplanner": "databay-aps",
                "ApsPlanner": "databay-aps", "APSPlanner": "databay-aps",
                "celery": "databay-celery", "CeleryPlanner": "databay-celery"},
    "processor": {},
    "notifier": {"email": "databay-email", "EmailNotifier": "databay-email"},
    "service": {"web": "databay-web", "WebService": "databay-web"},
    "stage": {"redis": "databay-celery", "RedisStage": "databay-celery"},
}
"""The distribution providing each component, by kind and by name or class name."""

FIRST_PARTY = frozenset(distribution for by_name in KNOWN_COMPONENTS.values() for distribution in by_name.values())
"""The first-party plugin distributions."""


def provider_of(kind: str, name: str) -> str | None:
    """The distribution known to provide component ``name`` of ``kind``, if any."""
    return KNOWN_COMPONENTS.get(kind, {}).get(name)


def first_party_distribution(short_name: str) -> str | None:
    """``databay-http`` for ``http`` (any case, ``-``/``_``), ``None`` for other names."""
    candidate = "databay-" + short_name.lower().replace("_", "-")
    return candidate if candidate in FIRST_PARTY else None
