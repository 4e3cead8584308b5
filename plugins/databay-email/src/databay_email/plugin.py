"""The databay plugin module of databay-email: registers the ``email`` notifier (lazily)."""

from databay import hookimpl


@hookimpl
def databay_register_notifiers(register):
    register("email", "databay_email.notifier:EmailNotifier")
