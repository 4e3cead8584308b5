"""The :class:`Record`: one quantity of data moved by a link."""

from __future__ import annotations

from typing import Any


class Record:
    """Data structure representing the data passed between inlets and outlets.

    Prefer :meth:`Inlet.new_record() <databay.inlet.Inlet.new_record>` over
    instantiating this class directly.

    :param payload: Data contained by this record.
    :param metadata: Metadata attached to this record (an empty ``dict`` if not provided).

    Two records are equal when their payloads and metadata are equal, so a processor can
    drop duplicates with ``record not in result``. Records whose payload is hashable hash
    by payload; the others hash by identity, as in databay 0.3.
    """

    __slots__ = ("_payload", "_metadata")

    def __init__(self, payload: Any, metadata: dict | None = None):
        self._payload = payload
        self._metadata = metadata if metadata is not None else {}

    @property
    def payload(self) -> Any:
        """Data stored in this record."""
        return self._payload

    @payload.setter
    def payload(self, value: Any) -> None:
        # The manual's processors assign ``record.payload = ...``.
        self._payload = value

    @property
    def metadata(self) -> dict:
        """Metadata attached to this record."""
        return self._metadata

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self is other or (
            self._payload == other._payload and self._metadata == other._metadata
        )

    def __hash__(self) -> int:
        try:
            return hash(self._payload)
        except TypeError:
            return id(self)

    def __repr__(self) -> str:
        return f"Record(payload={self._payload}, metadata={self._metadata})"
