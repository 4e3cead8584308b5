"""One transfer of a link: see :mod:`databay.run.transfer` (this module is where earlier
versions had it, and where :class:`TransferStats` is documented)."""

from databay.run.stats import TransferStats
from databay.run.transfer import run_transfer

__all__ = ["TransferStats", "run_transfer"]
