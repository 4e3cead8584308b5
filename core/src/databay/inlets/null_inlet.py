"""The :class:`NullInlet`."""

from databay.inlet import Inlet


class NullInlet(Inlet):
    """Inlet that doesn't do anything, essentially a 'no-op' inlet.

    :param metadata: Global metadata attached to each record (it produces none).
    """

    def pull(self, update) -> list:
        """Produce nothing: an empty list."""
        return []
