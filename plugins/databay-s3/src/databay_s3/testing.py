"""A throwaway S3 server for tests and benchmarks: moto's server mode run as a subprocess.

moto (``pip install 'moto[server]'``, part of the ``databay-s3[test]`` extra) answers the
S3 API over HTTP, keeping everything in memory. Here it listens on a loopback port::

    from databay_s3.testing import running_server

    with running_server() as endpoint_url:   # a free port; stopped (and its data gone) on exit
        client = boto3.client("s3", endpoint_url=endpoint_url, ...)

moto accepts any credentials unless told to enforce IAM (``MotoServer(enforce_iam_after=N)``:
the first N requests are free, e.g. to create users, access keys and policies; every later
request must be signed by a known access key and allowed by its policies).

:func:`server_for_tests` does the same unless ``$DATABAY_TEST_S3_ENDPOINT`` names an S3
endpoint to use instead (MinIO, a real bucket's region endpoint; its credentials come from
boto3's usual chain). Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from databay.testing import ManagedServer, ServerProcess, free_port

__all__ = ["TEST_CREDENTIALS", "TEST_ENDPOINT_VARIABLE", "MotoServer", "external_test_endpoint", "free_port",
           "running_server", "server_for_tests"]

TEST_ENDPOINT_VARIABLE = "DATABAY_TEST_S3_ENDPOINT"
"""Set by test runners that provide their own S3 endpoint instead of moto."""

TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "databay-test", "AWS_SECRET_ACCESS_KEY": "databay-test-secret",
                    "AWS_DEFAULT_REGION": "us-east-1"}
"""Environment variables giving boto3 credentials moto accepts (moto checks none by default)."""


class MotoServer(ManagedServer):
    """One moto server process on ``host:port``.

    :param port: Port to listen on; ``None`` picks a free one (kept across restarts).
    :param host: Loopback address to bind.
    :param python: Interpreter that has ``moto[server]`` installed (default: this one).
    :param startup_timeout: Seconds to wait for the server to answer.
    :param enforce_iam_after: Enforce IAM authentication and authorisation after this many
        requests (``None``: never, moto's default).
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", python: str | None = None,
                 startup_timeout: float = 60.0, enforce_iam_after: int | None = None):
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.enforce_iam_after = enforce_iam_after
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        if enforce_iam_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(enforce_iam_after)
        self._process = ServerProcess([self.python, "-m", "moto.server", "-H", host, "-p", str(self.port)],
                                      port=self.port, host=host, name="moto", env=env,
                                      ready=lambda: _answers(host, self.port), startup_timeout=startup_timeout)

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of this server."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.running

    def start(self) -> str:
        """Start the server and wait until it answers; returns :attr:`endpoint_url`.

        :raises RuntimeError: moto exited (not installed, port taken), with its output.
        """
        self._process.start()
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the server (its data is lost) and remove its files."""
        self._process.stop()


@contextlib.contextmanager
def running_server(port: int | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Run moto on ``host:port`` (a free port by default) for the ``with`` block; yields
    its endpoint URL. Its data is in memory and gone when the block ends."""
    with MotoServer(port=port, host=host) as server:
        yield server.endpoint_url


def external_test_endpoint() -> str | None:
    """The externally provided test endpoint (``$DATABAY_TEST_S3_ENDPOINT``), if any."""
    return os.environ.get(TEST_ENDPOINT_VARIABLE) or None


@contextlib.contextmanager
def server_for_tests() -> Iterator[str]:
    """The endpoint URL of an S3 server for tests, for the ``with`` block: the one at
    ``$DATABAY_TEST_S3_ENDPOINT`` when it is set, else moto run by :func:`running_server`."""
    external = external_test_endpoint()
    if external is not None:
        yield external
        return
    with running_server() as endpoint_url:
        yield endpoint_url


def _answers(host: str, port: int) -> bool:
    """Whether an HTTP server answers on ``host:port`` (moto accepts before it can serve)."""
    import http.client

    connection = http.client.HTTPConnection(host, port, timeout=1)
    try:
        connection.request("GET", "/moto-api/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()
