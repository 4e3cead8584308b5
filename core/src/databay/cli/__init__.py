"""The ``databay`` command line."""

from databay.cli.main import main

__all__ = ["main"]
