"""databay-email: an email notifier for databay, on the standard library's ``smtplib``.

    from databay_email import EmailNotifier
"""

from __future__ import annotations

from typing import Any

__version__ = "1.0.0a1"
__all__ = ["EmailNotifier"]


def __getattr__(name: str) -> Any:
    if name == "EmailNotifier":
        from databay_email.notifier import EmailNotifier

        return EmailNotifier
    raise AttributeError(f"module 'databay_email' has no attribute {name!r}")
