"""The processor of examples/quickstart.toml: a die roll (an int) becomes a CSV row (a dict)."""

from datetime import UTC, datetime


def as_rows(records):
    """Give each record a row as payload: when, which die, what it rolled."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for record in records:
        record.payload = {"time": now, "die": record.metadata.get("die"), "roll": record.payload}
    return records
