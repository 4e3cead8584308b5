"""EmailNotifier against a real SMTP server: what the mails say, login, TLS, rate limiting."""

from __future__ import annotations

import logging
import time

import pytest
from databay import Inlet, Link, Outlet
from databay.retry import RetryPolicy
from databay_email import EmailNotifier


class Fails(Inlet):
    def pull(self, update):
        raise ConnectionError("source unreachable")


class Numbers(Inlet):
    def pull(self, update):
        return [{"n": 1}, {"n": 2}]


class Down(Outlet):
    def push(self, records, update):
        raise ConnectionError("warehouse API down")


class Sink(Outlet):
    def push(self, records, update):
        pass


def fail(link: Link, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            link.transfer()


def test_a_failed_transfer_is_mailed_with_its_traceback(smtp_server, observe):
    observe(EmailNotifier(["ops@example.com", "oncall@example.com"], sender="databay@example.com",
                          host=smtp_server.host, port=smtp_server.port))
    fail(Link(Fails(), Sink(), interval=1, tags="orders"))
    assert smtp_server.inbox.wait_for(1)
    [message] = smtp_server.inbox.messages
    assert message["Subject"] == ("[databay] orders: transfer orders.0 failed: ConnectionError: "
                                  "source unreachable")
    assert (message["From"], message["To"]) == ("databay@example.com", "ops@example.com, oncall@example.com")
    assert smtp_server.inbox.envelopes == [("databay@example.com", ["ops@example.com", "oncall@example.com"])]
    body = message.get_content()
    assert "| link orders | failed" in body and "Traceback (most recent call last)" in body
    assert 'raise ConnectionError("source unreachable")' in body
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")


def test_a_dead_lettered_batch_is_mailed_with_how_to_replay_it(smtp_server, observe, tmp_path):
    observe(EmailNotifier("ops@example.com", host=smtp_server.host, port=smtp_server.port))
    link = Link(Numbers(), Down(), interval=1, tags="orders", stage=tmp_path / "orders.stage",
                retry=RetryPolicy(attempts=2, initial_delay=0, max_delay=0))
    link.transfer()
    link.on_shutdown()
    assert smtp_server.inbox.wait_for(1)
    [message] = smtp_server.inbox.messages
    uid = link.stage.uid
    assert message["Subject"] == (f"[databay] orders: batch {uid}:1 dead-lettered for Down in transfer orders.0: "
                                  f"ConnectionError: warehouse API down")
    body = message.get_content()
    assert f"stage: {tmp_path / 'orders.stage'}" in body and "batch: " in body and "(2 records)" in body
    assert "attempts: 2" in body and "databay stage PIPELINE --replay" in body


def test_credentials_come_from_the_environment(smtp_server, observe, monkeypatch, credentials):
    user, password = credentials
    monkeypatch.setenv("DATABAY_SMTP_USERNAME", user)
    monkeypatch.setenv("DATABAY_SMTP_PASSWORD", password)
    notifier = observe(EmailNotifier("ops@example.com", host=smtp_server.host, port=smtp_server.port))
    assert (notifier.username, notifier.password) == (user, password)
    assert password not in repr(notifier)
    fail(Link(Fails(), Sink(), interval=1, tags="t"))
    assert smtp_server.inbox.wait_for(1)
    assert smtp_server.inbox.logins == [user]


def test_a_wrong_password_is_logged_not_raised(smtp_server, observe, caplog, credentials):
    observe(EmailNotifier("ops@example.com", host=smtp_server.host, port=smtp_server.port, username=credentials[0],
                          password="wrong"))
    with caplog.at_level(logging.ERROR, logger="databay.Notifier"):
        fail(Link(Fails(), Sink(), interval=1, tags="t"))
        deadline = time.monotonic() + 5
        while "could not send" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "EmailNotifier(to=['ops@example.com']" in caplog.text and "could not send" in caplog.text
    assert "SMTPAuthenticationError" in caplog.text
    assert smtp_server.inbox.messages == []


def test_starttls(tls_smtp_server, observe, credentials):
    user, password = credentials
    observe(EmailNotifier("ops@example.com", host=tls_smtp_server.host, port=tls_smtp_server.port, starttls=True,
                          cafile=tls_smtp_server.cafile, username=user, password=password))
    fail(Link(Fails(), Sink(), interval=1, tags="t"))
    assert tls_smtp_server.inbox.wait_for(1)
    assert tls_smtp_server.inbox.logins == [user]


def test_ssl_from_the_start(ssl_smtp_server, observe):
    observe(EmailNotifier("ops@example.com", host=ssl_smtp_server.host, port=ssl_smtp_server.port, ssl=True,
                          cafile=ssl_smtp_server.cafile))
    fail(Link(Fails(), Sink(), interval=1, tags="t"))
    assert ssl_smtp_server.inbox.wait_for(1)


def test_an_untrusted_certificate_is_refused(tls_smtp_server, observe, caplog):
    observe(EmailNotifier("ops@example.com", host=tls_smtp_server.host, port=tls_smtp_server.port, starttls=True))
    with caplog.at_level(logging.ERROR, logger="databay.Notifier"):
        fail(Link(Fails(), Sink(), interval=1, tags="t"))
        deadline = time.monotonic() + 5
        while "could not send" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert tls_smtp_server.inbox.messages == []


def test_an_outage_sends_a_few_mails_then_one_summary(smtp_server, observe):
    notifier = observe(EmailNotifier("ops@example.com", host=smtp_server.host, port=smtp_server.port,
                                     max_messages=3, per_seconds=3600))
    link = Link(Fails(), Sink(), interval=1, tags="orders")
    for sent in range(1, 4):  # one at a time: each gets its own mail
        fail(link)
        assert smtp_server.inbox.wait_for(sent)
    fail(link, 200)  # the window is full: held back ...
    time.sleep(0.2)
    assert len(smtp_server.inbox.messages) == 3
    notifier.close()  # ... and sent in one message at the end
    messages = smtp_server.inbox.messages
    assert len(messages) == 4
    assert messages[-1]["Subject"] == "[databay] orders: 200 events (200 failed), held back by the rate limit"
    body = messages[-1].get_content()
    assert body.startswith("200 events were held back: more than 3 messages would have gone out within 3600 s")
    assert body.count("\n== ") == 10 and body.count("Traceback (most recent call last)") >= 10  # ten in full ...
    assert body.count("\n- ") == 100 and body.rstrip().endswith("... and 90 more")  # ... then listed


def test_events_that_arrive_together_share_a_mail(smtp_server, observe):
    notifier = observe(EmailNotifier("ops@example.com", host=smtp_server.host, port=smtp_server.port))
    fail(Link(Fails(), Sink(), interval=1, tags="orders"), 50)
    notifier.close()
    messages = smtp_server.inbox.messages
    assert len(messages) < 50
    assert sum(int(m["Subject"].split(": ")[1].split(" events")[0]) if " events (" in m["Subject"] else 1
               for m in messages) == 50


def test_only_the_chosen_events_are_mailed(smtp_server, observe):
    notifier = observe(EmailNotifier("ops@example.com", host=smtp_server.host, port=smtp_server.port,
                                     events=["finished"]))
    Link(Numbers(), Sink(), interval=1, tags="t").transfer()
    fail(Link(Fails(), Sink(), interval=1, tags="t"))
    notifier.close()
    assert [m["Subject"] for m in smtp_server.inbox.messages] == [
        "[databay] t: transfer t.0 finished: 2 records pushed"]


@pytest.mark.parametrize("kwargs, message", [
    ({"to": "nobody"}, "to must be an email address or a list of them"),
    ({"to": "a@b", "starttls": True, "ssl": True}, "choose starttls \\(port 587\\) or ssl \\(port 465\\)"),
    ({"to": "a@b", "port": 0}, "port must be between 1 and 65535"),
    ({"to": "a@b", "username": "u", "password_env": "DATABAY_TEST_UNSET"}, "a user name is set but no password"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EmailNotifier(**kwargs)


def test_default_ports():
    assert [EmailNotifier("a@b", **kw).port for kw in ({}, {"starttls": True}, {"ssl": True})] == [25, 587, 465]
