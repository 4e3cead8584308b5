"""databay.testing.ManagedServer: the base of a plugin's server helper; ``with`` runs the server."""

from __future__ import annotations

import pytest
from databay.testing import ManagedServer, ServerProcess


class Recorded(ManagedServer):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> str:
        self.calls.append("start")
        return "url"

    def stop(self) -> None:
        self.calls.append("stop")


def test_a_with_block_starts_the_server_and_stops_it_at_the_end():
    with Recorded() as server:
        assert server.calls == ["start"]
    assert server.calls == ["start", "stop"]


def test_an_error_in_the_block_stops_the_server_and_propagates():
    server = Recorded()
    with pytest.raises(KeyError), server:
        raise KeyError("in the test")
    assert server.calls == ["start", "stop"]


def test_start_and_stop_must_be_implemented():
    class OnlyStarts(ManagedServer):
        def start(self) -> None:
            pass

    with pytest.raises(TypeError, match="stop"):
        OnlyStarts()  # type: ignore[abstract]


def test_server_process_is_one():
    assert issubclass(ServerProcess, ManagedServer)
