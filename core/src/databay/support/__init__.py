"""Support utilities: :mod:`databay.support.buffers`."""
