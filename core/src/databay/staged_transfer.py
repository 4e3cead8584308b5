"""How a stage names a link's nodes: see :mod:`databay.stage.naming` (this module is where
earlier versions had it)."""

from databay.stage.naming import node_keys, numbered

__all__ = ["node_keys", "numbered"]
