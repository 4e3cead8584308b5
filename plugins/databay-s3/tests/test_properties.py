"""Round trips with generated payloads: written by S3Outlet, read back by S3Inlet, equal."""

from __future__ import annotations

import datetime
import itertools

from databay import Record, Update
from databay_s3 import S3Inlet, S3Outlet
from databay_s3.keys import KeyTemplate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
UPDATE = Update(["prop"], 0)
_runs = itertools.count()

# Any text UTF-8 can encode (no lone surrogates): quotes, commas, \r, \n, NUL, non-BMP characters.
text = st.text(st.characters(codec="utf-8"), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12)


@SETTINGS
@given(st.lists(st.lists(json_values, min_size=1, max_size=5), min_size=1, max_size=3),
       st.sampled_from(["jsonl", "json"]))
def test_json_values_come_back_equal(endpoint, bucket, pushes, fmt) -> None:
    prefix = f"run{next(_runs)}/"
    outlet = S3Outlet(bucket.name, prefix + "{time:%H%M%S%f}.{ext}", fmt, endpoint_url=endpoint)
    inlet = S3Inlet(bucket.name, prefix, fmt, endpoint_url=endpoint)
    pulled = []
    for payloads in pushes:
        outlet.push([Record(p) for p in payloads], UPDATE)
        pulled += [record.payload for record in inlet.pull(UPDATE)]
    assert pulled == [p for payloads in pushes for p in payloads]


@SETTINGS
@given(st.lists(text, min_size=1, max_size=4, unique=True).flatmap(
    lambda columns: st.lists(st.fixed_dictionaries({c: text for c in columns}), min_size=1, max_size=6)))
def test_csv_rows_come_back_equal(endpoint, bucket, rows) -> None:
    prefix = f"csv{next(_runs)}/"
    S3Outlet(bucket.name, prefix + "x.{ext}", "csv", endpoint_url=endpoint).push([Record(r) for r in rows], UPDATE)
    pulled = [record.payload for record in S3Inlet(bucket.name, prefix, "csv", endpoint_url=endpoint).pull(UPDATE)]
    assert pulled == rows


@given(st.text(max_size=30))
def test_a_template_either_is_refused_or_makes_a_key(template) -> None:
    try:
        parsed = KeyTemplate.parse(template, "test")
    except ValueError:
        return
    key = parsed.render({"tags": "t", "update": "t.1", "uuid": "0" * 32, "ext": "jsonl",
                         "time": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)})
    assert isinstance(key, str) and key
