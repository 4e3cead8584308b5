"""A real redis-server for the tests: started on 127.0.0.1 and a free port in a temp dir,
or the one ``DATABAY_TEST_REDIS_URL`` points at."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
import redis
from databay_celery.redis_server import RedisServer

sys.path.insert(0, str(Path(__file__).parent))  # cluster_run, parts (pytest runs with --import-mode=importlib)

SKIP_REASON = "needs redis-server (Debian package 'redis-server'), or DATABAY_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_url():
    external = os.environ.get("DATABAY_TEST_REDIS_URL")
    if external:
        yield external
        return
    if not RedisServer.available():
        pytest.skip(SKIP_REASON)
    with RedisServer() as server:
        yield server.url


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def namespace():
    """A name of this test's own, so tests sharing a Redis never meet."""
    return f"t{uuid.uuid4().hex[:10]}"
