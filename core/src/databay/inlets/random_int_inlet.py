"""The :class:`RandomIntInlet`."""

import random

from databay.inlet import Inlet


class RandomIntInlet(Inlet):
    """Inlet that will generate a random integer within the specified range.

    :param min: Lower boundary of the random range (inclusive). Default ``0``.
    :param max: Upper boundary of the random range (inclusive). Default ``100``.
    """

    def __init__(self, min: int = 0, max: int = 100, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if min > max:
            raise ValueError(f"RandomIntInlet: min ({min}) must not be greater than max ({max})")
        self.min = min
        self.max = max

    def pull(self, update) -> int:
        """Produce a random integer within ``[min, max]``."""
        return random.randint(self.min, self.max)
