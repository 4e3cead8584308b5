"""Durable staging for links: records wait in a SQLite file until every outlet took them.

    from databay import Link
    link = Link(inlet, outlets, interval=10, stage="state/todos.stage")

See ``docs/reliability.md`` for what a stage promises, where it sits in a transfer and
how to operate it; :class:`Stage` for the file itself.
"""

from databay.errors import StageError, StageSerializationError
from databay.stage.codec import register_type
from databay.stage.store import DeadLetter, OutletBacklog, Stage

__all__ = ["DeadLetter", "OutletBacklog", "Stage", "StageError", "StageSerializationError", "register_type"]
