"""The :class:`EmailNotifier`: mails about failed transfers and dead-lettered batches."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl as tls
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from databay.notifier import Event, Notifier

__all__ = ["EmailNotifier"]

_FULL_EVENTS = 10  # a message shows this many events in full ...
_LISTED_EVENTS = 100  # ... and lists this many more by their subject line
# Subjects are at most 200 characters: no folding (Python folds a long subject right after
# "Subject:", which some mail readers show with a leading space). RFC 5322 allows 998.
_POLICY = policy.SMTP.clone(max_line_length=998)
_LABELS = {"failed": "failed", "dead_lettered": "dead-lettered", "finished": "finished"}


class EmailNotifier(Notifier):
    """Sends an email when a transfer fails or a batch is dead-lettered, through an SMTP server.

    Messages go out from a thread of the notifier's own, never from a transfer, and are
    rate-limited: at most ``max_messages`` per ``per_seconds``; what happens beyond that is
    held back and sent as one message when the window allows (and at :meth:`close`).

    :param to: recipient address, or a list of them.
    :param sender: the From address. Default ``databay@<this host's name>``.
    :param host: the SMTP server.
    :param port: its port; default 465 with ``ssl``, 587 with ``starttls``, else 25.
    :param starttls: upgrade the connection with STARTTLS (port 587 submission).
    :param ssl: connect over TLS from the start (port 465).
    :param username: log in with this user name. Default: the environment variable named
        by ``username_env``; no login when neither is set.
    :param password: its password. Default: the environment variable named by
        ``password_env``, so the secret stays out of code and pipeline files.
    :param username_env: environment variable holding the user name.
    :param password_env: environment variable holding the password.
    :param cafile: PEM file of certificate authorities to trust instead of the system's.
    :param timeout: seconds to wait for the server.
    :param subject_prefix: starts every subject.
    :param events: what to mail about: ``failed`` (transfers), ``dead_lettered``
        (batches), ``finished`` (transfers). Default: ``failed`` and ``dead_lettered``.
    :param max_messages: at most this many messages per ``per_seconds``. Default 10.
    :param per_seconds: the rate-limit window. Default 3600 (an hour).
    """

    def __init__(
        self,
        to: str | Sequence[str],
        sender: str | None = None,
        host: str = "localhost",
        port: int | None = None,
        *,
        starttls: bool = False,
        ssl: bool = False,
        username: str | None = None,
        password: str | None = None,
        username_env: str = "DATABAY_SMTP_USERNAME",
        password_env: str = "DATABAY_SMTP_PASSWORD",
        cafile: str | None = None,
        timeout: float = 10.0,
        subject_prefix: str = "[databay]",
        events: Iterable[str] = ("failed", "dead_lettered"),
        max_messages: int = 10,
        per_seconds: float = 3600.0,
    ):
        super().__init__(events=events, max_messages=max_messages, per_seconds=per_seconds)
        recipients = [to] if isinstance(to, str) else list(to)
        if not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
            raise ValueError(f"EmailNotifier: to must be an email address or a list of them, got {to!r}")
        if starttls and ssl:
            raise ValueError("EmailNotifier: choose starttls (port 587) or ssl (port 465), not both")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise ValueError(f"EmailNotifier: port must be between 1 and 65535, got {port!r}")
        self.to = recipients
        self.sender = sender or f"databay@{socket.getfqdn()}"
        self.host = host
        self.port = port if port is not None else (465 if ssl else 587 if starttls else 25)
        self.starttls = starttls
        self.ssl = ssl
        self.username = username if username is not None else os.environ.get(username_env) or None
        self.password = password if password is not None else os.environ.get(password_env)
        if self.username and self.password is None:
            raise ValueError(f"EmailNotifier: a user name is set but no password (pass password= or set "
                             f"${password_env})")
        self.cafile = cafile
        self.timeout = timeout
        self.subject_prefix = subject_prefix

    def send(self, events: list[Event], held_back: int) -> None:
        """Mail one message about ``events``."""
        message = EmailMessage(policy=_POLICY)
        message["Subject"] = self.subject(events, held_back)
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(self.body(events, held_back))
        with self._connect() as smtp:
            smtp.send_message(message)

    def subject(self, events: list[Event], held_back: int) -> str:
        """The subject line: the event's own, or counts for several."""
        if len(events) == 1:
            text = f"{self.subject_prefix} {events[0].link}: {events[0].subject}"
        else:
            counts = Counter(event.kind for event in events)
            kinds = ", ".join(f"{counts[kind]} {_LABELS[kind]}" for kind in _LABELS if counts[kind])
            links = sorted({event.link for event in events})
            where = links[0] if len(links) == 1 else f"{len(links)} links"
            text = f"{self.subject_prefix} {where}: {len(events)} events ({kinds})"
            if held_back:
                text += ", held back by the rate limit"
        text = " ".join(text.split())  # one line
        return text if len(text) <= 200 else text[:197] + "..."

    def body(self, events: list[Event], held_back: int) -> str:
        """The message text: each event with its details, the first ones in full."""
        lines = []
        if held_back:
            lines.append(f"{held_back} events were held back: more than {self.max_messages} messages would have "
                         f"gone out within {self.per_seconds:g} s.\n")
        for index, event in enumerate(events):
            when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(event.time))
            if index < _FULL_EVENTS:
                lines += [f"== {when} | link {event.link} | {_LABELS[event.kind]}", event.subject, "",
                          event.details.rstrip(), ""]
            elif index < _FULL_EVENTS + _LISTED_EVENTS:
                lines.append(f"- {when} | link {event.link} | {event.subject}")
            else:
                lines.append(f"... and {len(events) - index} more")
                break
        return "\n".join(lines) + "\n"

    def _connect(self) -> smtplib.SMTP:
        context = tls.create_default_context(cafile=self.cafile) if (self.ssl or self.starttls) else None
        if self.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def __repr__(self) -> str:
        return f"EmailNotifier(to={self.to}, host={self.host}:{self.port}, events={sorted(self.events)})"
