"""The worker: a Celery worker that builds the pipeline and carries out its transfers.

``databay worker PIPELINE --concurrency N`` loads the pipeline (the same file as the
scheduler's), starts its links on a databay engine (one event loop, one thread pool,
``on_start`` of every node, observers, stages: what one process gives a link) and runs a
Celery worker with N threads consuming the pipeline's queue. A task
``transfer(link, due)``:

1. finds the link by its identity (a task for a link this pipeline does not have fails);
2. takes the link's **lease** in Redis, atomically with two checks: a later slot of the
   link was sent meanwhile (this one is coalesced into it), or another transfer of the
   link holds the lease (this slot is skipped); both are counted as skipped;
3. gives the link's Redis stage the lease's **fencing token**, and runs the transfer on
   the engine while a thread renews the lease every third of ``lease_seconds``; a worker
   that lost its lease (it stalled, another took over) cannot write to the stage;
4. gives up the lease and the link's in-flight mark, counts the transfer completed or
   failed, and reports it to Celery (a failed transfer is a failed task).

The task is acknowledged only then (``acks_late``): if the worker dies, Redis gives it
to another worker after the visibility timeout, when the lease has expired, and the
transfer runs again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import Any

from databay import hookimpl
from databay.engine_planner import EnginePlanner
from databay.observers import add_observer, current, remove_observer
from databay.redaction import redact

from databay_celery.app import TASK_NAME, make_app
from databay_celery.cluster import COALESCED, RUNNING_HERE, ClusterSettings, Coordinator, Lease

__all__ = ["TransferFailed", "UnknownLink", "Worker"]

_LOGGER = logging.getLogger("databay.CeleryWorker")


class TransferFailed(Exception):
    """The transfer raised (its message, redacted); the link's next slot runs as usual."""


class UnknownLink(Exception):
    """The task names a link this worker's pipeline does not have (another version of the file?)."""


class WorkerEngine(EnginePlanner):
    """The engine a worker runs its links on: it times nothing (tasks say when), and a
    failed transfer is reported to its task, never a reason to stop."""

    def __init__(self, links: list, threads: int):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self.failures: dict[int, Exception] = {}
        self.stats = _Stats()
        super().__init__(links, threads=threads, ignore_exceptions=True, immediate_transfer=False, timers=False)

    def on_loop_started(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.ready.set()

    def on_loop_stopped(self) -> None:
        self.loop = None

    def on_exception(self, exception: Exception, link: Any = None) -> None:
        if link is not None:
            self.failures[id(link)] = exception
        _LOGGER.error("%s: %s", getattr(link, "identity", link), redact(f"{type(exception).__name__}: {exception}"),
                      exc_info=exception)

    async def run(self, link: Any) -> tuple[Any, Exception | None, bool]:
        """One transfer of ``link``: ``(stats, failure, skipped)``."""
        key = id(link)
        self.failures.pop(key, None)
        self.stats.finished.pop(key, None)
        skipped = self.skipped_transfers(link)
        await self.transfer_due(link)
        return self.stats.finished.pop(key, None), self.failures.pop(key, None), self.skipped_transfers(link) > skipped


class _Stats:
    """Observes the worker's transfers for the stats its tasks report."""

    def __init__(self) -> None:
        self.finished: dict[int, Any] = {}

    @hookimpl
    def databay_transfer_finished(self, link: Any, update: Any, stats: Any) -> None:
        self.finished[id(link)] = stats


class Worker:
    """A pipeline's links, their engine, and the Celery worker carrying out their tasks.

    :param pipeline: the loaded pipeline (its planner is a ``CeleryPlanner``).
    :param concurrency: how many transfers this worker runs at once (Celery threads).
    """

    def __init__(self, pipeline: Any, concurrency: int = 1):
        from databay_celery.stage import RedisStage

        self.pipeline = pipeline
        self.settings: ClusterSettings = pipeline.planner.settings
        self.concurrency = concurrency
        self.links = {link.identity: link for link in pipeline.links}
        for identity, link in self.links.items():
            if isinstance(link.stage, RedisStage):
                link.stage.fence(identity, None)  # writes only under the link's lease
        self.engine = WorkerEngine(list(self.links.values()), threads=max(8, 2 * concurrency))
        self.coordinator = Coordinator(self.settings)
        self.app = make_app(self.settings)
        self._skips: dict[str, int] = {}
        worker = self

        @self.app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)
        def transfer(task: Any, link: str, due: float) -> dict[str, Any]:
            return worker.transfer(task.request.id or "", link, due)

        self.task = transfer

    # -- the engine ----------------------------------------------------------------

    def start_engine(self, timeout: float = 120.0) -> None:
        """Start the links (``on_start`` of every node) on the engine's loop, in a thread."""
        for notifier in self.pipeline.notifiers:
            add_observer(notifier)
        add_observer(self.engine.stats)
        thread = threading.Thread(target=self.engine.start, name="databay-engine", daemon=True)
        thread.start()
        if not self.engine.ready.wait(timeout):
            raise RuntimeError(f"the links did not start within {timeout:g}s")

    def stop_engine(self) -> None:
        """Let transfers in flight finish, deliver what Buffers hold, ``on_shutdown`` every node."""
        self.engine.shutdown(wait=True)
        remove_observer(self.engine.stats)
        for notifier in self.pipeline.notifiers:
            remove_observer(notifier)
            close = getattr(notifier, "close", None)
            if callable(close):
                close()

    # -- a task --------------------------------------------------------------------

    def transfer(self, task_id: str, link_id: str, due: float) -> dict[str, Any]:
        """Carry out the task ``transfer(link_id, due)`` (see the module's docs)."""
        slot = repr(float(due))
        link = self.links.get(link_id)
        if link is None:
            self.coordinator.finish(link_id, slot, None, "failed")
            raise UnknownLink(f"link {link_id[:200]!r} is not in this worker's pipeline ({self.pipeline.source}): the "
                              f"scheduler runs another version of it? Deploy the same file to workers and schedulers")
        late = time.time() - float(due)
        token, holder = self.coordinator.take(link_id, slot, task_id)
        if token == RUNNING_HERE:
            return {"outcome": "running", "holder": holder}
        if token <= 0:  # HELD or COALESCED
            self._skipped(link_id, link)
            outcome = "coalesced" if token == COALESCED else "skipped"
            _LOGGER.info("%s: %s the transfer due at %s (%s)", link_id, outcome, slot, holder or "a later slot was sent")
            return {"outcome": outcome, "holder": holder}
        lease = Lease(link_id, token, self.coordinator.lease_value(token, task_id), slot)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lease, stop), daemon=True, name=f"lease-{link_id}")
        stage = link.stage
        fenced = hasattr(stage, "fence")
        if fenced:
            stage.fence(link_id, token)
        renewer.start()
        try:
            loop = self.engine.loop
            if loop is None:
                raise TransferFailed("this worker is shutting down")
            stats, failure, skipped = asyncio.run_coroutine_threadsafe(self.engine.run(link), loop).result()
        except BaseException:
            self.coordinator.finish(link_id, slot, lease, "failed")  # the link's next slot may run
            raise
        finally:
            stop.set()
            renewer.join()
            if fenced:
                stage.fence(link_id, None)
        if skipped:  # a transfer of this link was still running here: the lease had expired meanwhile
            self.coordinator.finish(link_id, slot, lease, "skipped")
            return {"outcome": "skipped", "holder": "this worker"}
        kept = self.coordinator.finish(link_id, slot, lease, "failed" if failure else "completed")
        if not kept:
            _LOGGER.warning("%s: the lease expired during the transfer due at %s (renewals were late); the stage "
                            "refused what came after", link_id, slot)
        if failure is not None:
            raise TransferFailed(redact(f"{link_id}: {type(failure).__name__}: {failure}")) from None
        result: dict[str, Any] = {"outcome": "transferred", "late": round(late, 6)}
        if stats is not None:
            result.update(update=str(stats.update), records_pulled=stats.records_pulled,
                          records_pushed=stats.records_pushed, seconds=round(stats.duration, 6))
        return result

    def _renew(self, lease: Lease, stop: threading.Event) -> None:
        period = self.settings.lease_seconds / 3
        while not stop.wait(period):
            try:
                if not self.coordinator.renew(lease):
                    _LOGGER.warning("%s: lost the lease (another worker took the link over); the stage refuses this "
                                    "transfer's writes", lease.link)
                    return
            except Exception as exc:  # noqa: BLE001 - Redis away for a moment: try again
                _LOGGER.warning("%s: could not renew the lease: %s", lease.link, redact(str(exc)))

    def _skipped(self, link_id: str, link: Any) -> None:
        count = self._skips[link_id] = self._skips.get(link_id, 0) + 1
        notify = current()
        if notify is not None:
            notify.transfer_skipped(link=link, skipped=count)

    # -- running -------------------------------------------------------------------

    def run(self, loglevel: str = "WARNING", hostname: str | None = None) -> int:
        """Start the links and the Celery worker; block until it is stopped. Returns its exit code."""
        self.start_engine()
        try:
            worker = self.app.Worker(
                pool="threads", concurrency=self.concurrency, loglevel=loglevel.upper(),
                hostname=hostname or f"databay-{self.settings.name}-{os.getpid()}@{socket.gethostname()}",
                queues=[self.settings.queue], send_events=True, without_mingle=True, without_gossip=True,
                optimization="fair")
            worker.start()
            return int(worker.exitcode or 0)
        finally:
            self.stop_engine()
