"""The :class:`Update`: the identity of one link transfer."""

from __future__ import annotations


class Update:
    """Data structure representing one Link transfer.

    Converted to a string it gives ``{tags}.{transfer_number}``, e.g. ``twitter_link.16``.

    :param tags: Tags of the link, see :class:`~databay.link.Link`.
    :param transfer_number: Incremental identifier of the current transfer.
    """

    __slots__ = ("tags", "transfer_number")

    def __init__(self, tags: list[str], transfer_number: int):
        self.tags = tags
        self.transfer_number = transfer_number

    def __repr__(self) -> str:
        if self.tags:
            return f"{'.'.join(self.tags)}.{self.transfer_number}"
        return str(self.transfer_number)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Update):
            return NotImplemented
        return self.tags == other.tags and self.transfer_number == other.transfer_number

    def __hash__(self) -> int:
        return hash((tuple(self.tags), self.transfer_number))
