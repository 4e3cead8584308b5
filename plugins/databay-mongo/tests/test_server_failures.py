"""The server going away mid-run and coming back on the same port (nx-27017 only)."""

from __future__ import annotations

import logging
import time

import pymongo
import pytest
from databay import Link
from databay.testing import SequenceInlet
from databay_mongo import MongoConnectionError
from databay_mongo.outlet import MongoOutlet
from databay_mongo.testing import NxServer, external_test_uri

pytestmark = pytest.mark.skipif(
    external_test_uri() is not None, reason="stops and restarts the server: needs nx-27017")


@pytest.fixture
def server():
    with NxServer() as server:
        yield server


def stored(server: NxServer) -> list[int]:
    with pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=5000) as client:
        return [d["n"] for d in client["db"]["c"].find().sort("n", 1)]


def test_push_while_the_server_is_down_raises_a_clear_error(server: NxServer) -> None:
    outlet = MongoOutlet("db", "c", uri=server.uri, timeout=1.0)
    link = Link(SequenceInlet(1), outlet, interval=1)
    link.on_start()
    try:
        link.transfer()
        server.stop()
        began = time.monotonic()
        with pytest.raises(MongoConnectionError,
                           match=rf"could not insert 1 document\(s\): MongoDB at 127\.0\.0\.1:{server.port} "
                                 r"\(db\.c\) is unreachable"):
            link.transfer()
        assert time.monotonic() - began < 5
    finally:
        link.on_shutdown()


def test_ignore_exceptions_carries_on_until_the_server_is_back(server: NxServer, caplog) -> None:
    outlet = MongoOutlet("db", "c", uri=server.uri, timeout=1.0)
    inlet = SequenceInlet(1)
    link = Link(inlet, outlet, interval=1, ignore_exceptions=True)
    link.on_start()
    try:
        link.transfer()
        assert stored(server) == [0]
        server.stop()
        with caplog.at_level(logging.ERROR):
            link.transfer()  # record 1 is lost with the server: logged, not raised
        assert any("is unreachable" in r.getMessage() for r in caplog.records)
        server.start()  # same port, empty memory
        link.transfer()
        link.transfer()
    finally:
        link.on_shutdown()
    assert inlet.next == 4
    assert stored(server) == [2, 3]
