"""databay.testing.ServerProcess: a test server on a loopback port, started, waited for,
stopped, restarted on the same port, and never outliving the process that started it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from databay.testing import ServerProcess, accepts_connections, free_port

# A TCP server: listens on argv[1] after argv[2] seconds; writes the signal that ends it to
# the file "ended" in its working directory; ignores SIGTERM when argv[3] is "stubborn".
SERVER = textwrap.dedent("""
    import signal, socket, sys, time

    def end(number, frame):
        open("ended", "w").write(signal.Signals(number).name)
        sys.exit(0)

    signal.signal(signal.SIGINT, end)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[3:] == ["stubborn"] else end)
    time.sleep(float(sys.argv[2]))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    print("listening", flush=True)
    while True:
        server.accept()[0].close()
""")


def tcp_server(port: int, delay: float = 0.0, *extra: str, **options) -> ServerProcess:
    return ServerProcess([sys.executable, "-c", SERVER, str(port), str(delay), *extra], port=port, **options)


def test_free_port_is_free_and_bindable():
    port = free_port()
    assert not accepts_connections("127.0.0.1", port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_start_waits_until_the_server_accepts_connections():
    port = free_port()
    with tcp_server(port, 0.5) as server:
        assert server.running and accepts_connections("127.0.0.1", port)
        assert server.folder is not None and server.folder.is_dir()
        assert "listening" in server.output()
        folder = server.folder
    assert not server.running and not folder.exists(), "the temporary folder goes with the server"
    assert not accepts_connections("127.0.0.1", port)


def test_a_ready_check_of_its_own_is_waited_for():
    port = free_port()
    checks = []

    def ready() -> bool:
        checks.append(time.monotonic())
        return len(checks) > 5 and accepts_connections("127.0.0.1", port)

    with tcp_server(port, ready=ready):
        assert len(checks) > 5


def test_stop_frees_the_port_and_start_runs_it_again_on_it(tmp_path):
    port = free_port()
    server = tcp_server(port, cwd=tmp_path, log_file=tmp_path / "server.log")
    server.start()
    server.stop()
    assert not server.running and not accepts_connections("127.0.0.1", port)
    assert (tmp_path / "ended").read_text() == "SIGTERM"
    server.start()
    try:
        assert server.running and accepts_connections("127.0.0.1", port)
    finally:
        server.stop()
    assert (tmp_path / "server.log").read_text().count("listening") == 2, "the log is kept and appended to"


def test_the_stop_signal_reaches_the_server(tmp_path):
    with tcp_server(free_port(), cwd=tmp_path, stop_signal=signal.SIGINT):
        pass
    assert (tmp_path / "ended").read_text() == "SIGINT"


def test_a_server_that_ignores_the_stop_signal_is_killed():
    port = free_port()
    server = tcp_server(port, 0.0, "stubborn", stop_timeout=0.5)
    server.start()
    began = time.monotonic()
    server.stop()
    assert not accepts_connections("127.0.0.1", port)
    assert time.monotonic() - began < 10


def test_a_server_that_exits_is_reported_with_its_output():
    command = [sys.executable, "-c", "import sys; print('no such database'); sys.exit(3)"]
    server = ServerProcess(command, port=free_port(), name="exampledb")
    with pytest.raises(RuntimeError, match=r"exampledb did not start on 127\.0\.0\.1:\d+: no such database"):
        server.start()
    assert not server.running and server.folder is None


def test_a_server_never_ready_is_stopped_after_the_startup_timeout():
    port = free_port()
    server = tcp_server(port, ready=lambda: False, startup_timeout=1)
    with pytest.raises(RuntimeError, match="did not start"):
        server.start()
    assert not server.running and not accepts_connections("127.0.0.1", port)


def test_the_server_ends_when_the_process_that_started_it_is_killed(tmp_path, wait_until):
    """SIGKILL leaves no chance to stop servers: the supervisor stops them."""
    port = free_port()
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import json, sys, time
        from databay.testing import ServerProcess
        server = ServerProcess([sys.executable, "-c", {SERVER!r}, "{port}", "0"], port={port}, cwd={str(tmp_path)!r})
        server.start()
        print(json.dumps(server.running), flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(parent.stdout.readline()) is True
        assert accepts_connections("127.0.0.1", port)
    finally:
        parent.kill()
        parent.wait()
    assert wait_until(lambda: not accepts_connections("127.0.0.1", port), 10, every=0.05), (
        "the server outlived the process that started it")
    assert (tmp_path / "ended").read_text() == "SIGTERM"


def test_user_and_group_go_together():
    with pytest.raises(ValueError, match="user and group go together"):
        ServerProcess(["true"], port=1, user=0)
    with pytest.raises(ValueError, match="command is empty"):
        ServerProcess([], port=1)
