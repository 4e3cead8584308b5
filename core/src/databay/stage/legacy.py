"""Reading batches written by earlier databays (codec ``pickle5``), only to convert them.

Those stages stored batches as plain pickles limited to an allowlist of classes. Reading
one with pickle's decoder can set attributes on an allowed class and build values far
larger than the file, so a stage holding such batches is not opened; ``databay stage
PIPELINE --migrate`` (:meth:`~databay.stage.store.SqliteStage.migrate`) converts it, which
reads it with this module: do that only for a stage file you trust (one your own databay
wrote). The values are then written in the current format and read back with its checks.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from databay.stage import codec


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, allowed: set[tuple[str, str]]):
        super().__init__(io.BytesIO(data))
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it names {module}.{name}, which is not a registered record type")


def decode(data: bytes) -> tuple[list, list | dict]:
    """``(payloads, metadata)`` of a batch in the ``pickle5`` format, trusting the data.

    Only the classes registered with :func:`databay.stage.register_type` (what that format
    allowed) may be named.

    :raises codec.DecodeError: the data is not such a batch, or names another class.
    """
    allowed = {(kind.__module__, kind.__qualname__) for kind in codec.registered_types()}
    allowed.add(("zoneinfo", "ZoneInfo._unpickle"))  # how a ZoneInfo pickled
    try:
        payloads, metadata = _LegacyUnpickler(data, allowed).load()
    except Exception as exc:  # corrupt data raises about anything
        raise codec.DecodeError(f"it cannot be read in the earlier format either ({type(exc).__name__}: {exc})"
                                ) from None
    if type(payloads) is not list or type(metadata) not in (list, dict):
        raise codec.DecodeError("it is not a batch of records (unexpected layout)")
    return payloads, metadata
