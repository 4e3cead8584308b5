"""Everything a databay plugin can do: the hook specifications.

A plugin is a module listed under the ``databay`` entry-point group of its distribution::

    [project.entry-points.databay]
    myplugin = "databay_myplugin.plugin"

and implements some of these hooks, marked with :data:`databay.hookimpl`::

    from databay import hookimpl

    @hookimpl
    def databay_register_outlets(register):
        register("kafka", "databay_kafka.outlet:KafkaOutlet")

Registration hooks receive a ``register(name, target)`` callback. ``name`` is short,
lowercase and unique within its kind (``[a-z][a-z0-9_]*``); ``target`` is the class (or
callable) itself, or better a lazy ``"package.module:Attr"`` string, which is imported
only when the component is used, so that listing plugins never imports their clients.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("databay")
hookimpl = pluggy.HookimplMarker("databay")


@hookspec
def databay_register_inlets(register):
    """Register :class:`~databay.inlet.Inlet` subclasses: ``register(name, target)``."""


@hookspec
def databay_register_outlets(register):
    """Register :class:`~databay.outlet.Outlet` subclasses: ``register(name, target)``."""


@hookspec
def databay_register_planners(register):
    """Register :class:`~databay.base_planner.BasePlanner` subclasses: ``register(name, target)``."""


@hookspec
def databay_register_processors(register):
    """Register processors, ``(records) -> records`` callables or classes making them."""


@hookspec
def databay_register_notifiers(register):
    """Register notifiers: :class:`~databay.notifier.Notifier` subclasses (or other classes
    whose instances implement observer hooks), ``register(name, target)``. A pipeline's
    ``[[notifiers]]`` table builds one by name and lets it observe the run."""


@hookspec
def databay_register_commands(app):
    """Add commands to the ``databay`` command line; ``app`` is its ``typer.Typer``."""


@hookspec
def databay_transfer_started(link, update):
    """A transfer of ``link`` started; ``update`` identifies it. Keep it quick."""


@hookspec
def databay_transfer_finished(link, update, stats):
    """A transfer finished; ``stats`` is a :class:`~databay.transfer.TransferStats`."""


@hookspec
def databay_transfer_failed(link, update, exception):
    """A transfer raised ``exception`` (it is raised on after the observers return)."""


@hookspec
def databay_transfer_skipped(link, skipped):
    """A transfer of ``link`` fell due while its previous one was still running, so it was
    skipped (coalesced); ``skipped`` counts the link's skips so far. Keep it quick."""


@hookspec
def databay_transfer_retrying(link, update, node, attempt, exception, delay):
    """``node`` (an inlet or outlet of ``link``) failed attempt number ``attempt`` of a
    pull or push during transfer ``update`` with ``exception``; it is tried again in
    ``delay`` seconds, as its retry policy says. Keep it quick."""


@hookspec
def databay_batch_dead_lettered(link, update, outlet, dead_letter, exception):
    """An outlet of a staged ``link`` gave up on a batch during transfer ``update``.

    ``outlet`` failed to push it after the last attempt its retry policy allows (or its
    processors raised); the batch is kept in the stage's dead-letter area
    (``databay stage PIPELINE`` lists them, ``--replay`` sends them again) and the link goes
    on with the next batches. ``dead_letter`` is a :class:`~databay.stage.DeadLetter` (stage
    file, outlet, batch id, size, attempts, time, error and traceback); ``exception`` is the
    last exception. Called once per batch. Keep it quick.
    """
