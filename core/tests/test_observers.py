"""Observer hooks: plugins watching transfers start, finish and fail, without breaking them."""

from __future__ import annotations

import logging

import pytest
from databay import Inlet, Link, Outlet, hookimpl
from databay.plugins import get_plugin_manager


class Values(Inlet):
    def __init__(self, values, fail=False):
        super().__init__()
        self.values, self.fail = values, fail

    def pull(self, update):
        if self.fail:
            raise ValueError("pull failed")
        return list(self.values)


class Sink(Outlet):
    def push(self, records, update):
        pass


class Watcher:
    def __init__(self):
        self.events = []

    @hookimpl
    def databay_transfer_started(self, link, update):
        self.events.append(("started", link.tags, str(update)))

    @hookimpl
    def databay_transfer_finished(self, update, stats):
        self.events.append(("finished", str(update), stats.records_pulled, stats.records_pushed))

    @hookimpl
    def databay_transfer_failed(self, update, exception):
        self.events.append(("failed", str(update), repr(exception)))


class BrokenWatcher:
    @hookimpl
    def databay_transfer_started(self, link, update):
        raise RuntimeError("observer broke")


@pytest.fixture
def manager(clean_plugins, monkeypatch):
    monkeypatch.setenv("DATABAY_LOAD_PLUGINS", "")
    return get_plugin_manager()


def test_observers_see_transfers_start_finish_and_fail(manager):
    watcher = Watcher()
    manager.register(watcher, "watch-dist")
    manager.observe()
    Link(Values([1, 2]), Sink(), 1, tags="w").transfer()
    with pytest.raises(ValueError, match="pull failed"):
        Link(Values([], fail=True), Sink(), 1, tags="f").transfer()
    assert watcher.events == [
        ("started", ["w"], "w.0"),
        ("finished", "w.0", 2, 2),
        ("started", ["f"], "f.0"),
        ("failed", "f.0", "ValueError('pull failed')"),
    ]


def test_a_failing_observer_is_logged_and_never_breaks_the_transfer(manager, caplog):
    watcher = Watcher()
    manager.register(BrokenWatcher(), "broken-watch")
    manager.register(watcher, "watch-dist")
    manager.observe()
    with caplog.at_level(logging.ERROR, logger="databay.observers"):
        stats = Link(Values([1]), Sink(), 1, tags="w").transfer()
    assert stats.records_pushed == 1
    assert [e[0] for e in watcher.events] == ["started", "finished"]
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("Observer databay_transfer_started of plugin broken-watch")


def test_no_observer_means_no_notifier(manager):
    from databay import observers

    manager.observe()
    assert observers.current() is None


def test_add_observer_watches_transfers_until_removed(manager):
    from databay.observers import add_observer, remove_observer

    watcher = Watcher()
    add_observer(watcher)
    add_observer(watcher)  # twice is once
    Link(Values([1]), Sink(), interval=1, tags="t").transfer()
    remove_observer(watcher)
    Link(Values([1]), Sink(), interval=1, tags="t").transfer()
    assert watcher.events == [("started", ["t"], "t.0"), ("finished", "t.0", 1, 1)]


def test_observers_added_or_removed_while_others_watch_count_from_the_next_transfer(manager):
    from databay.observers import add_observer, remove_observer

    first, second = Watcher(), Watcher()
    add_observer(first)
    Link(Values([1]), Sink(), interval=1, tags="a").transfer()
    add_observer(second)
    Link(Values([1]), Sink(), interval=1, tags="b").transfer()
    remove_observer(first)
    Link(Values([1]), Sink(), interval=1, tags="c").transfer()
    remove_observer(second)
    assert first.events == [("started", ["a"], "a.0"), ("finished", "a.0", 1, 1),
                            ("started", ["b"], "b.0"), ("finished", "b.0", 1, 1)]
    assert second.events == [("started", ["b"], "b.0"), ("finished", "b.0", 1, 1),
                             ("started", ["c"], "c.0"), ("finished", "c.0", 1, 1)]


def test_add_observer_refuses_an_object_without_observer_hooks(manager):
    from databay.observers import add_observer

    class Nothing:
        pass

    with pytest.raises(ValueError, match="implements none of the observer hooks"):
        add_observer(Nothing())
