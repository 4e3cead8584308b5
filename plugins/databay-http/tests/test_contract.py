"""databay's conformance kit, run against the HTTP components."""

from __future__ import annotations

import pytest
from databay.testing import InletTester, OutletTester
from databay_http import HttpInlet, HttpOutlet


class TestHttpInletContract(InletTester):
    @pytest.fixture(autouse=True)
    def _server(self, server, refused_url) -> None:
        self.server, self.refused_url = server, refused_url
        server.route("/todos", [{"id": 1, "done": True}, {"id": 2, "done": False}])
        server.route("/todo", {"id": 3})
        server.route("/text", "plain text", content_type="text/plain")

    def get_inlet(self):
        return [
            HttpInlet(self.server.url("/todos")),
            HttpInlet(self.server.url("/todo"), metadata={"HttpInlet.SOURCE": "todo"}),
            HttpInlet(self.server.url("/text"), json=False),
        ]

    def get_failing_inlet(self):
        return HttpInlet(self.refused_url)


class TestHttpOutletContract(OutletTester):
    @pytest.fixture(autouse=True)
    def _server(self, server, refused_url) -> None:
        self.server, self.refused_url = server, refused_url

    def get_outlet(self):
        return [
            HttpOutlet(self.server.url("/echo")),
            HttpOutlet(self.server.url("/echo"), per_record=True, method="PUT"),
        ]

    def read_back(self, outlet):
        """The payloads the server received, one JSON array per push or one object per record."""
        delivered = []
        for seen in self.server.seen:
            body = seen.json()
            delivered.extend(body if isinstance(body, list) else [body])
        return delivered

    def get_failing_outlet(self):
        return HttpOutlet(self.refused_url)
