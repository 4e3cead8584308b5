"""``python -m databay``: the ``databay`` command, for when its script is not on ``PATH``."""

from databay.cli import main

main()
