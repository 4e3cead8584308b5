"""Components the tests' pipelines name by import string (``web_components:Flaky``)."""

from __future__ import annotations

import itertools
import time

from databay import Inlet, Outlet


class Counter(Inlet):
    """Pulls the next numbers, ``count`` at a time; its first ``fail_first`` pulls fail;
    each pull takes ``seconds``."""

    def __init__(self, count: int = 1, secret: str = "", fail_first: int = 0, seconds: float = 0.0):
        super().__init__()
        self.count, self.secret, self.fail_first, self.seconds = count, secret, fail_first, seconds
        self.pulls = 0
        self._numbers = itertools.count()

    def pull(self, update):
        self.pulls += 1
        if self.pulls <= self.fail_first:
            raise ConnectionError(f"pull {self.pulls} refused")
        if self.seconds:
            time.sleep(self.seconds)
        return [{"n": next(self._numbers)} for _ in range(self.count)]


class Flaky(Outlet):
    """Fails its first ``fail_first`` pushes (then takes everything); ``always`` fails every push."""

    def __init__(self, fail_first: int = 1, always: bool = False):
        super().__init__()
        self.fail_first, self.always = fail_first, always
        self.pushes = 0
        self.records = []

    def push(self, records, update):
        self.pushes += 1
        if self.always or self.pushes <= self.fail_first:
            raise ConnectionError(f"push {self.pushes} refused")
        self.records += records


class Broken(Inlet):
    """Every pull fails."""

    def pull(self, update):
        raise RuntimeError("the source is down")
