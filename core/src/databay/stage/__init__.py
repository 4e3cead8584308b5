"""Durable staging for links: records wait in a stage until every outlet took them.

    from databay import Link
    link = Link(inlet, outlets, interval=10, stage="state/todos.stage")

:class:`Stage` is the interface every stage backend implements (and ``Stage(path)`` makes
the built-in SQLite one, :class:`SqliteStage`); plugins register others with the
``databay_register_stages`` hook. See ``docs/reliability.md`` for what a stage promises,
where it sits in a transfer and how to operate it.

Public names: :class:`Stage`, :class:`SqliteStage`, :class:`DeadLetter`,
:class:`OutletBacklog`, :class:`StagedBatch`, :func:`register_type`,
:func:`encode_records` and :func:`decode_records` (for backends), :func:`outlet_keys`
(the names a link's stage gives its outlets), and the errors
:class:`StageError`, :class:`StageSerializationError` and :class:`UndecodableBatchError`;
and :mod:`databay.stage.export`, a stage's records as rows (``databay stage --export``).
"""

from databay.errors import StageError, StageSerializationError, UndecodableBatchError
from databay.stage.base import DeadLetter, OutletBacklog, Stage, StagedBatch
from databay.stage.codec import decode_records, encode_records, register_type
from databay.stage.naming import outlet_keys
from databay.stage.store import SqliteStage

__all__ = ["DeadLetter", "OutletBacklog", "SqliteStage", "Stage", "StageError", "StageSerializationError",
           "StagedBatch", "UndecodableBatchError", "decode_records", "encode_records", "outlet_keys",
           "register_type"]
