"""databay-email: an email notifier for databay, on the standard library's ``smtplib``.

    from databay_email import EmailNotifier
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {"databay_email.notifier": ["EmailNotifier"]})
