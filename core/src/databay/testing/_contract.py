"""Helpers shared by the conformance testers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from databay.inlet import Inlet
from databay.record import Record


def for_each(getter: str, attribute: str) -> Callable[[Callable], Callable]:
    """Run a test once per component returned by ``self.<getter>()``, as ``self.<attribute>``."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            made = getattr(self, getter)()
            for component in made if isinstance(made, list) else [made]:
                with self.subTest(component=repr(component)):
                    setattr(self, attribute, component)
                    fn(self, *args, **kwargs)

        return wrapper

    return decorate


class ListInlet(Inlet):
    """An inlet producing the given records on every pull (used to feed outlets under test)."""

    def __init__(self, records: list[Record]):
        super().__init__()
        self.records = records

    def pull(self, update):
        return list(self.records)


class Counter:
    """Counts calls of a node's lifecycle callbacks without changing what they do."""

    def __init__(self, node: Any):
        self.starts = 0
        self.shutdowns = 0
        original_start, original_shutdown = node.on_start, node.on_shutdown

        def on_start(*args: Any, **kwargs: Any) -> Any:
            self.starts += 1
            return original_start(*args, **kwargs)

        def on_shutdown(*args: Any, **kwargs: Any) -> Any:
            self.shutdowns += 1
            return original_shutdown(*args, **kwargs)

        node.on_start, node.on_shutdown = on_start, on_shutdown
