"""An S3 server for the tests: moto on a free loopback port, or $DATABAY_TEST_S3_ENDPOINT.

Each test gets its own bucket (``bucket`` fixture), emptied and deleted afterwards. With
moto, boto3 gets throwaway credentials from the environment; with an external endpoint,
the credentials are boto3's usual ones (environment, profile, role).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import boto3
import pytest
from databay_s3.testing import TEST_CREDENTIALS, external_test_endpoint, server_for_tests

_names = itertools.count()

@pytest.fixture(scope="session", autouse=True)
def credentials() -> Iterator[None]:
    """Throwaway credentials for moto (kept as they are for an external endpoint)."""
    if external_test_endpoint() is not None:
        yield
        return
    saved = {name: os.environ.get(name) for name in TEST_CREDENTIALS}
    os.environ.update(TEST_CREDENTIALS)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def endpoint(credentials) -> Iterator[str]:
    """The endpoint URL of the test server, up for the whole session."""
    with server_for_tests() as url:
        yield url


@pytest.fixture(scope="session")
def s3(endpoint: str):
    """A plain boto3 client of the test server, to check what the components did."""
    client = boto3.client("s3", endpoint_url=endpoint)
    yield client
    client.close()


class BucketView:
    """A bucket of the test server, and ways to look into it."""

    def __init__(self, s3, name: str):
        self.s3 = s3
        self.name = name

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, in key order."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [entry["Key"] for page in pages for entry in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=body)

    def delete(self) -> None:
        keys = self.keys()
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start:start + 1000]]
            self.s3.delete_objects(Bucket=self.name, Delete={"Objects": objects, "Quiet": True})
        self.s3.delete_bucket(Bucket=self.name)


@pytest.fixture
def bucket(s3) -> Iterator[BucketView]:
    """A fresh, empty bucket for this test (``.name``); emptied and deleted afterwards."""
    made = BucketView(s3, f"databay-test-{os.getpid()}-{next(_names)}")
    s3.create_bucket(Bucket=made.name)
    yield made
    made.delete()
