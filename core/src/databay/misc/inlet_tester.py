"""The :class:`InletTester`: a ``unittest.TestCase`` checking an inlet's contract."""

from __future__ import annotations

import asyncio
import functools
import inspect
import unittest
from collections.abc import Callable
from typing import Any

from databay.inlet import Inlet
from databay.printable import safe_repr
from databay.record import Record
from databay.update import Update


class _UntouchableMetadata(dict):
    """Metadata failing the test when the inlet reads or changes it.

    Copying it into new records (what ``Inlet.new_record`` does) is fine: ``dict(m)``
    and ``{**m}`` copy a dict subclass without calling these methods.
    """

    def _read(self, key: Any = None, *args: Any) -> Any:
        what = "its metadata" if key is None else f"metadata key {key!r}"
        raise AssertionError(f"the inlet read {what}: metadata is for outlets, inlets only attach it")

    def _change(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the inlet changed its metadata during a pull")

    __getitem__ = get = __contains__ = _read

    def keys(self):
        return self._read()

    items = values = copy = keys
    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _change


def _not_data(value: Any) -> str | None:
    """Why ``value`` cannot be a record's payload (a coroutine, a generator), or ``None``."""
    if inspect.isawaitable(value):
        return f"an awaitable ({type(value).__name__}): a plain 'def' cannot return one, use 'async def'"
    if inspect.isgenerator(value) or inspect.isasyncgen(value):
        return "a generator: return a list to produce one record per element"
    return None


def for_each_inlet(fn: Callable[..., None]) -> Callable[..., None]:
    """Runs the test for each inlet returned from :meth:`InletTester.get_inlet` (those
    ``setUp`` put in ``self.inlets``), each in turn as ``self.inlet``, in a subtest."""

    @functools.wraps(fn)
    def wrapper(self: InletTester, *args: Any, **kwargs: Any) -> None:
        inlets = getattr(self, "inlets", None)
        if inlets is None:  # a setUp that did not call InletTester.setUp
            inlets = _as_list(self.get_inlet())
        for inlet in inlets:
            with self.subTest(inlet=safe_repr(inlet)):
                self.inlet = inlet
                fn(self, *args, **kwargs)

    return wrapper


def _as_list(made: Inlet | list[Inlet]) -> list[Inlet]:
    return made if isinstance(made, list) else [made]


class InletTester(unittest.TestCase):
    """Utility class used for testing concrete implementations of :class:`Inlet`.

    Subclass it and implement :meth:`get_inlet`, returning an inlet or a list of inlets
    (each test runs for every one of them)::

        class RandomIntInletTest(InletTester):
            def get_inlet(self):
                return [RandomIntInlet(), RandomIntInlet(min=10, max=200)]
    """

    inlet: Inlet
    """The inlet under test: the first of :attr:`inlets` after ``setUp``, then each in turn
    in the tests marked :func:`for_each_inlet`."""

    inlets: list[Inlet]
    """Every inlet :meth:`get_inlet` returned (``setUp`` calls it once per test)."""

    __test__ = False  # the base class has nothing to test; its subclasses are collected

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__test__ = cls.__dict__.get("__test__", True)

    def get_inlet(self) -> Inlet | list[Inlet]:
        """Implement this method to return instances of your inlet class."""
        raise NotImplementedError("Implement get_inlet() to return your inlet(s).")

    def setUp(self) -> None:
        """Set :attr:`inlets` (from :meth:`get_inlet`) and :attr:`inlet` (the first of them),
        as databay 0.3 did: subclasses may use or change them in their own ``setUp``."""
        if type(self).get_inlet is InletTester.get_inlet:
            self.skipTest("InletTester itself has no inlet to test")
        self.gmetadata = {"global_key": "global_value"}
        self.update = Update(["InletTester"], 0)
        self.inlets = _as_list(self.get_inlet())
        if not self.inlets:
            self.fail("get_inlet() returned no inlet")
        self.inlet = self.inlets[0]

    def _pull(self) -> list[Record]:
        return asyncio.run(self.inlet._pull(self.update))

    @for_each_inlet
    def test_new_record(self) -> None:
        """Test creating new records and passing local metadata."""
        metadata = {"local_key": "local_value"}
        record = self.inlet.new_record({"test": 10}, metadata=metadata)
        self.assertIsInstance(record, Record)
        self.assertEqual(record.payload, {"test": 10})
        self.assertEqual(record.metadata["local_key"], "local_value")
        self.assertEqual(record.metadata["__inlet__"], repr(self.inlet))
        for key, value in self.inlet.metadata.items():
            self.assertEqual(record.metadata[key], value)

    @for_each_inlet
    def test_new_record_override_global(self) -> None:
        """Test creating new records and overriding global metadata."""
        self.inlet.metadata.update(self.gmetadata)
        try:
            record = self.inlet.new_record({"test": 10}, metadata={"global_key": "local_value"})
            self.assertEqual(record.metadata["global_key"], "local_value")
            plain = self.inlet.new_record({"test": 10})
            self.assertEqual(plain.metadata["global_key"], "global_value")
        finally:
            for key in self.gmetadata:
                self.inlet.metadata.pop(key, None)

    @for_each_inlet
    def test_dont_read_metadata(self) -> None:
        """Test that pulling neither reads nor changes the inlet's metadata."""
        original = self.inlet._metadata
        self.inlet._metadata = _UntouchableMetadata(original)
        try:
            self._pull_started()
        finally:
            self.inlet._metadata = original

    @for_each_inlet
    def test_pull(self) -> None:
        """Test pulling data from the inlet: a list of records carrying its metadata."""
        records = self._pull_started()
        self.assertIsInstance(records, list)
        for record in records:
            self.assertIsInstance(record, Record)
            self.assertIn("__inlet__", record.metadata)
            problem = _not_data(record.payload)
            self.assertIsNone(problem, f"pull produced {problem}")

    def _pull_started(self) -> list[Record]:
        was_active = self.inlet.active
        if not was_active:
            self.inlet.try_start()
        try:
            return self._pull()
        finally:
            if not was_active:
                self.inlet.try_shutdown()
