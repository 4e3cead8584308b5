"""Components of first-party plugin distributions, for "pip install ..." hints.

Only names live here: core never imports a plugin.
"""

from __future__ import annotations

KNOWN_COMPONENTS: dict[str, dict[str, str]] = {
    "inlet": {"http": "databay-http", "HttpInlet": "databay-http",
              "mongo": "databay-mongo", "MongoInlet": "databay-mongo",
              "csv": "databay-csv", "CsvInlet": "databay-csv"},
    "outlet": {"http": "databay-http", "HttpOutlet": "databay-http",
               "mongo": "databay-mongo", "MongoOutlet": "databay-mongo",
               "csv": "databay-csv", "CsvOutlet": "databay-csv"},
    "planner": {"aps": "databay-aps", "apsplanner": "databay-aps",
                "ApsPlanner": "databay-aps", "APSPlanner": "databay-aps"},
    "processor": {},
}


def provider_of(kind: str, name: str) -> str | None:
    """The distribution known to provide component ``name`` of ``kind``, if any."""
    return KNOWN_COMPONENTS.get(kind, {}).get(name)
