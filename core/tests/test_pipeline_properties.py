"""Property-based: whatever the file holds, loading raises nothing but PipelineError."""

from __future__ import annotations

import json
import tomllib

from databay.pipeline import Pipeline, PipelineError, load_pipeline
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

VALID = """
[planner]
use = "schedule"
threads = 2

[[links]]
tags = ["a"]
interval = "5s"
inlets = [{ use = "random_int", min = 1, max = 6, metadata = { k = "v" } }, "null"]
outlets = [{ use = "file", default_filepath = "${OUT:-out}/x.txt", processors = [{ use = "buffer", count_threshold = 3 }] }]
processors = ["buffer"]

[[links]]
tags = "b"
interval = 0.5
inlets = [{ use = "file", filepath = "in.txt", read_mode = "line" }]
outlets = ["print", { use = "null" }]
copy_records = false
"""

KEYS = ["use", "planner", "links", "inlets", "outlets", "interval", "tags", "processors", "groupers",
        "metadata", "min", "max", "filepath", "read_mode", "default_filepath", "threads", "count_threshold",
        "copy_records", "ignore_exceptions", "only_payload", "x"]
NAMES = ["random_int", "null", "file", "print", "buffer", "schedule", "http", "json:dumps", "json:nope",
         "no_such_mod:f", "databay:buffer", "${HOME}", "${NOPE}", "${X:-null}", "$$", "${", ":", "a:b:c"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.sampled_from(NAMES),
    st.text(max_size=12), st.sampled_from(["5s", "250ms", "1h30m", "0", "-1s", "line", "file"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=20,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=4)


def _to_toml(value) -> str:
    """Just enough of a TOML writer for generated values (None becomes a missing key)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value else repr(value))
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_to_toml(v) for v in value if v is not None) + "]"
    return "{" + ", ".join(f"{k} = {_to_toml(v)}" for k, v in value.items() if v is not None) + "}"


def _loads_or_fails(text: str) -> None:
    try:
        result = load_pipeline(text + "\n", environ={"HOME": "/home/x"})
    except PipelineError as exc:
        assert exc.problems and all(p.place and p.message for p in exc.problems)
        event("invalid")
        return
    assert isinstance(result, Pipeline)
    event("valid")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_documents(document):
    text = "\n".join(f"{k} = {_to_toml(v)}" for k, v in document.items() if v is not None)
    _loads_or_fails(text)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_documents(data):
    document = tomllib.loads(VALID)
    link = data.draw(st.sampled_from(document["links"]))
    table = data.draw(st.sampled_from([document, document["planner"], link, *link["inlets"][:1],
                                       *[o for o in link["outlets"] if isinstance(o, dict)]]))
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(sorted(table) + KEYS))
        action = data.draw(st.sampled_from(["delete", "replace", "rename"]))
        if action == "delete":
            table.pop(key, None)
        elif action == "replace":
            table[key] = data.draw(values)
        elif key in table:
            table[data.draw(st.sampled_from(KEYS))] = table.pop(key)
    text = "\n".join(f"{k} = {_to_toml(v)}" for k, v in document.items() if v is not None)
    _loads_or_fails(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID)), st.sampled_from(["", "=", "[", "]", "\"", "{", "$", "x", "\n", "0"])),
                min_size=1, max_size=4))
def test_text_edits(edits):
    text = VALID
    for at, piece in edits:
        text = text[:at] + piece + text[at + 1:]
    _loads_or_fails(text)
