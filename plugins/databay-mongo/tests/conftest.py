"""A MongoDB server for the tests: nx-27017 on a free loopback port, or $DATABAY_TEST_MONGO_URI.

Each test gets its own database (``database`` fixture), dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pymongo
import pytest
from databay_mongo.testing import server_for_tests

_names = itertools.count()


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    """URI of the test server, up for the whole session."""
    with server_for_tests() as uri:
        yield uri


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[pymongo.MongoClient]:
    """A plain pymongo client of the test server, to check what the components did."""
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def database(mongo_client: pymongo.MongoClient) -> Iterator[str]:
    """A fresh database name for this test; the database is dropped afterwards."""
    name = f"databay_test_{os.getpid()}_{next(_names)}"
    yield name
    mongo_client.drop_database(name)


@pytest.fixture
def db(mongo_client: pymongo.MongoClient, database: str):
    """The test's database, as a pymongo ``Database``."""
    return mongo_client[database]

