"""How a stage names a link's nodes: see :mod:`databay.run.staged` (this module is where
earlier versions had it)."""

from databay.run.staged import node_keys, numbered

__all__ = ["node_keys", "numbered"]
