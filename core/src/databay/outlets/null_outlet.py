"""The :class:`NullOutlet`."""

from databay.outlet import Outlet


class NullOutlet(Outlet):
    """Outlet that doesn't do anything, essentially a 'no-op' outlet.

    :param processors: Processors of this outlet.
    """

    async def push(self, records, update) -> None:
        """Do nothing."""
