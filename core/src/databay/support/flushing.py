"""Deliver what Buffers still hold when links stop: see :mod:`databay.run.flushing`
(this module is where earlier versions had it)."""

from databay.run.flushing import buffers_of, flush_buffers, flush_buffers_async, holds_records

__all__ = ["buffers_of", "flush_buffers", "flush_buffers_async", "holds_records"]
