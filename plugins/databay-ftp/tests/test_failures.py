"""Bad input and outages: one clear error naming the endpoint and file (never the password),
retried by RetryPolicy, and nothing lost on a staged link."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time

import pytest
from databay import Link, Record, RetryPolicy
from databay.stage import Stage
from databay.testing import SequenceInlet
from databay_ftp import (
    FtpAuthenticationError,
    FtpConnectionError,
    FtpError,
    FtpInlet,
    FtpOperationError,
    FtpOutlet,
)
from databay_ftp.testing import READER, free_port


def outlet_for(remote, url=None, **kwargs) -> FtpOutlet:
    return FtpOutlet(url or remote.url, **{**remote.components_kwargs(), "filename": "{uuid}.jsonl", **kwargs})


def push_one(outlet: FtpOutlet, update) -> None:
    try:
        outlet.push([Record({"n": 1})], update)
    finally:
        outlet.on_shutdown()


def other_url(remote, user=None, port=None, directory=None) -> str:
    scheme, rest = remote.url.split("://", 1)
    credentials, _, rest = rest.partition("@")
    address, _, path = rest.partition("/")
    host = address.rsplit(":", 1)[0]
    return (f"{scheme}://{user or credentials}@{host}:{port or address.rsplit(':', 1)[1]}"
            f"{directory if directory is not None else '/' + path}")


def assert_no_secret(exc: BaseException, *secrets: str) -> None:
    seen = []
    while exc is not None:
        seen.append(f"{exc!s} {exc!r}")
        exc = exc.__cause__ or exc.__context__
    for secret in secrets:
        assert secret not in " ".join(seen)


def test_unreachable_server(remote, update):
    port = free_port()
    outlet = outlet_for(remote, other_url(remote, port=port), timeout=2)
    with pytest.raises(FtpConnectionError, match=rf"^FtpOutlet cannot connect to {remote.scheme}://databay@"
                                                 rf"127\.0\.0\.1:{port}/.*: .*[Cc]onnection refused") as caught:
        push_one(outlet, update)
    assert_no_secret(caught.value, remote.password)
    inlet = FtpInlet(other_url(remote, port=port), timeout=2, **remote.components_kwargs())
    with pytest.raises(FtpConnectionError, match=r"^FtpInlet cannot connect to"):
        inlet.pull(update)


def test_a_server_that_never_answers_times_out(remote, update):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        outlet = outlet_for(remote, other_url(remote, port=silent.getsockname()[1]), timeout=0.5)
        began = time.monotonic()
        with pytest.raises(FtpConnectionError, match="FtpOutlet cannot connect to .*: (timed out|.*banner|no SSH handshake within 0.5 s)"):
            push_one(outlet, update)
        assert time.monotonic() - began < 5
    finally:
        silent.close()


def test_wrong_password(remote, update):
    outlet = outlet_for(remote, password="not-the-password")
    with pytest.raises(FtpAuthenticationError, match=r"^FtpOutlet cannot (log in to|connect to) .*: the server "
                                                     r"refused the user name") as caught:
        push_one(outlet, update)
    assert_no_secret(caught.value, "not-the-password", remote.password)


def test_permission_denied(local_only, update):
    remote = local_only
    outlet = outlet_for(remote, other_url(remote, user=READER), filename="denied.jsonl")
    with pytest.raises(FtpOperationError, match=rf"^FtpOutlet cannot upload {remote.scheme}://reader@.*/"
                                                r"\.denied\.jsonl\.[0-9a-f]+\.part: the server refused it: "
                                                r".*([Pp]ermission denied|privileges)"):
        push_one(outlet, update)
    assert remote.files() == {}


def test_missing_directory(remote, update):
    url = other_url(remote, directory=remote.directory + "/missing")
    with pytest.raises(FtpOperationError, match=rf"^FtpOutlet cannot open the directory {url}: the server "
                                                r"refused it: .*(No such file|not exist|No such)"):
        push_one(outlet_for(remote, url), update)
    with pytest.raises(FtpOperationError, match=r"^FtpInlet cannot open the directory"):
        FtpInlet(url, **remote.components_kwargs()).pull(update)


def test_no_space_left(local_only, update):
    remote = local_only
    remote.set_quota(0)
    try:
        outlet = outlet_for(remote, filename="full.jsonl")
        with pytest.raises(FtpOperationError, match=r"cannot upload .*/\.full\.jsonl\.[0-9a-f]+\.part: the server "
                                                    r"refused it: .*No space left on device") as caught:
            push_one(outlet, update)
        assert caught.value.errno == errno.ENOSPC
    finally:
        remote.set_quota(None)
    assert remote.files() == {}, "no temporary file is left behind"


def test_space_running_out_during_an_upload(local_only, update):
    """The server accepts the first part of a file, then refuses the rest: an error, and
    neither a truncated file nor a temporary one is left.

    (Over FTPS, pyftpdlib closes the data connection without its reply: the client gives up
    after ``timeout``.)"""
    remote = local_only
    used = sum(p.stat().st_size for p in remote.server.root.rglob("*") if p.is_file())
    remote.set_quota(used + 50_000)
    expected = (FtpOperationError, FtpConnectionError) if remote.scheme == "ftps" else FtpOperationError
    try:
        outlet = outlet_for(remote, filename="big.jsonl", timeout=3)
        with pytest.raises(expected, match=r"cannot upload .*/\.big\.jsonl\.[0-9a-f]+\.part: "):
            try:
                outlet.push([Record({"data": "x" * 500_000})], update)
            finally:
                outlet.on_shutdown()
    finally:
        remote.set_quota(None)
    assert remote.files() == {}


def test_untrusted_certificate(servers, update):
    info, _ = servers["ftps"]
    outlet = FtpOutlet(info.url, password=info.password)  # no cacert: the test authority is not trusted
    with pytest.raises(FtpAuthenticationError, match=r"cannot connect to ftps://.*: cannot verify the server's TLS "
                                                     r"certificate: .*give its certificate as cacert"):
        push_one(outlet, update)


def test_unknown_and_changed_host_keys(servers, tmp_path, update):
    info, _ = servers["sftp"]
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(FtpAuthenticationError, match=rf"cannot connect to sftp://.*: cannot verify the server: its "
                                                     rf"ssh-ed25519 host key is not in {empty} under '\[127\.0\.0\.1\]"):
        push_one(FtpOutlet(info.url, password=info.password, known_hosts=empty), update)
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2]
    host = info.url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[{host[0]}]:{host[1]} {' '.join(other)}\n")
    with pytest.raises(FtpAuthenticationError, match="the server's host key is not the one in known_hosts"):
        push_one(FtpOutlet(info.url, password=info.password, known_hosts=wrong), update)


@pytest.mark.parametrize("url, message", [
    ("http://host/dir", "url scheme must be one of ftp, ftps, sftp"),
    ("ftp:///dir", "url names no host"),
    ("sftp://host/dir", "needs a user name"),
    ("ftp://u@host:99999/", "invalid port"),
    ("ftp://u@host/dir?x=1", "query or fragment"),
    ("host/dir", "url must be"),
])
def test_invalid_urls(url, message):
    with pytest.raises(ValueError, match=message):
        FtpOutlet(url)


def test_the_password_in_a_url_is_never_shown():
    with pytest.raises(ValueError, match="either in the url or as password") as caught:
        FtpOutlet("ftp://u:hunter2secret@host/", password="other-secret")
    assert "hunter2secret" not in str(caught.value)
    with pytest.raises(ValueError) as caught:
        FtpOutlet("bogus://u:hunter2secret@host/")
    assert "hunter2secret" not in str(caught.value)
    outlet = FtpOutlet("ftp://u:hunter2secret@host/")
    assert "hunter2secret" not in repr(outlet) + outlet.url


def test_passwords_are_registered_as_secrets():
    from databay.redaction import redact

    FtpOutlet("ftp://u@host/", password="registered-secret")
    assert redact("oops registered-secret") == "oops ***"


@pytest.mark.parametrize("option, scheme", [("cacert", "ftp"), ("known_hosts", "ftps"), ("private_key", "ftp")])
def test_options_of_another_scheme_are_refused(option, scheme, tmp_path):
    path = tmp_path / "file"
    path.write_text("")
    with pytest.raises(ValueError, match=f"{option} applies to .*:// urls only, not {scheme}://"):
        FtpOutlet(f"{scheme}://u@host/", **{option: path})


def test_a_missing_trust_file_is_refused():
    with pytest.raises(ValueError, match="cacert file '/nowhere/ca.pem' does not exist"):
        FtpOutlet("ftps://u@host/", cacert="/nowhere/ca.pem")


# -- retries and staged links ------------------------------------------------------------

def delivered(remote) -> list[int]:
    import json

    return sorted(json.loads(line)["n"] for content in remote.files().values() for line in content.splitlines())


def test_retry_policy_rides_out_a_restart(local_only, tmp_path, caplog):
    remote = local_only
    outlet = outlet_for(remote, filename="{batch}.jsonl", timeout=2,
                        retry=RetryPolicy(attempts=30, initial_delay=0.1, backoff=1.5, max_delay=0.5))
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage")
    link.transfer()
    remote.server.stop()
    restart = threading.Timer(1.5, remote.server.start)
    restart.start()
    try:
        with caplog.at_level(logging.WARNING, logger="databay.retry"):
            link.transfer()  # fails until the server is back, then delivers
    finally:
        restart.join()
        link.on_shutdown()
    assert "failed (attempt 1 of 30): FtpConnectionError: FtpOutlet cannot connect to" in caplog.text
    assert remote.password not in caplog.text
    assert delivered(remote) == list(range(6))
    with Stage(tmp_path / "s.stage") as stage:
        assert stage.backlog() == [] and stage.dead_letters() == []


@pytest.mark.parametrize("outage", ["no space", "wrong password"])
def test_a_staged_link_loses_nothing_while_the_server_refuses(local_only, tmp_path, outage):
    remote = local_only
    stage = tmp_path / "s.stage"
    password = "wrong-password" if outage == "wrong password" else remote.password
    if outage == "no space":
        remote.set_quota(0)
    try:
        failing = outlet_for(remote, filename="{batch}.jsonl", password=password)
        link = Link(SequenceInlet(), failing, interval=1, stage=stage, ignore_exceptions=True)
        link.transfer()
        link.transfer()
        link.on_shutdown()
    finally:
        remote.set_quota(None)
    assert remote.files() == {}
    assert [b.batches for b in Stage(stage).open().backlog()] == [2]
    inlet = SequenceInlet()
    inlet.next = 6
    link = Link(inlet, outlet_for(remote, filename="{batch}.jsonl"), interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    assert delivered(remote) == list(range(9))


def test_errors_are_ftp_errors():
    assert issubclass(FtpConnectionError, ConnectionError) and issubclass(FtpConnectionError, FtpError)
    assert issubclass(FtpAuthenticationError, PermissionError)
    assert issubclass(FtpOperationError, OSError)
