"""Property-based round trips: any JSON value through a real server and the components."""

from __future__ import annotations

import json

from databay import Link, Record
from databay_http import HttpInlet, HttpOutlet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(value=json_values)
def test_inlet_produces_what_the_server_sent(_http_server, value):
    url = _http_server.route("/property", json.dumps(value))
    seen: list = []
    link = Link(HttpInlet(url), [], interval=1, processors=lambda records: seen.extend(records) or records)
    link.transfer()
    expected = value if isinstance(value, list) else [value]
    assert [record.payload for record in seen] == expected


@SETTINGS
@given(payloads=st.lists(json_values, min_size=1, max_size=10), per_record=st.booleans())
def test_outlet_sends_every_payload_as_it_is(_http_server, records_inlet, payloads, per_record):
    _http_server.seen.clear()
    outlet = HttpOutlet(_http_server.url("/echo"), per_record=per_record)
    Link(records_inlet([Record(p) for p in payloads]), outlet, interval=1).transfer()
    received = [request.json() for request in _http_server.seen]
    assert received == (payloads if per_record else [payloads])
