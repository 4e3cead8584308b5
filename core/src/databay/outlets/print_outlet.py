"""The :class:`PrintOutlet`."""

import sys

from databay.outlet import Outlet
from databay.printable import printable_line


class PrintOutlet(Outlet):
    """Outlet that prints all records one by one, a line each.

    What it prints comes from inlets and tags (a server's answer, say): each line is
    redacted and its control characters escaped (:func:`databay.printable.printable_line`),
    so that a record neither forges lines nor drives the terminal.

    :param only_payload: If ``True``, print only the payload of records.
    :param skip_update: If ``True``, do not prefix lines with the update.
    """

    def __init__(self, only_payload: bool = False, skip_update: bool = False, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.only_payload = only_payload
        self.skip_update = skip_update

    async def push(self, records, update) -> None:
        """Print the records, one line each."""
        prefix = "" if self.skip_update else f"{update} "
        lines = [printable_line(f"{prefix}{r.payload if self.only_payload else r}") + "\n" for r in records]
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
