"""Miscellaneous utilities: :mod:`databay.misc.inlet_tester`."""
