"""The first-party plugin distributions and what they provide.

Only names live here: core never imports a plugin. They serve the "pip install ..." hints
of unknown components and the short names of ``databay install`` (``http`` means
``databay-http``).
"""

from __future__ import annotations

KNOWN_COMPONENTS: dict[str, dict[str, str]] = {
    "inlet": {"http": "databay-http", "HttpInlet": "databay-http",
              "mongo": "databay-mongo", "MongoInlet": "databay-mongo",
              "csv": "databay-csv", "CsvInlet": "databay-csv",
              "s3": "databay-s3", "S3Inlet": "databay-s3",
              "sql": "databay-sql", "SqlInlet": "databay-sql",
              "ftp": "databay-ftp", "FtpInlet": "databay-ftp"},
    "outlet": {"http": "databay-http", "HttpOutlet": "databay-http",
               "mongo": "databay-mongo", "MongoOutlet": "databay-mongo",
               "csv": "databay-csv", "CsvOutlet": "databay-csv",
               "s3": "databay-s3", "S3Outlet": "databay-s3",
               "sql": "databay-sql", "SqlOutlet": "databay-sql",
               "ftp": "databay-ftp", "FtpOutlet": "databay-ftp"},
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
