"""Everything a databay plugin can do: the hook specifications.

A plugin is a module listed under the ``databay`` entry-point group of its distribution::

    [project.entry-points.databay]
    myplugin = "databay_myplugin.plugin"

and implements some of these hooks, as functions named after them and marked with
:data:`databay.hookimpl`::

    from databay import hookimpl

    @hookimpl
    def databay_register_outlets(register):
        register("kafka", "databay_kafka.outlet:KafkaOutlet")

An implementation may take fewer arguments than its specification (only those it names
are passed), never others: a hook whose arguments don't match makes the plugin broken.

How databay calls hooks
-----------------------

Unlike a plain pluggy hook call, databay calls **each implementation on its own**, so that
one plugin's failure stays its own:

- no hook is ``firstresult``: every implementation is called, and **return values are
  ignored** (registration hooks give their results through ``register``);
- implementations are called in the order their plugins were registered: core's
  built-ins first, then the installed distributions by name (observers added in
  process, :func:`databay.observers.add_observer`, last);
- so pluggy's call options have nothing to act on, and **are refused**: a plugin marking
  an implementation ``@hookimpl(wrapper=True)``, ``hookwrapper=True``, ``tryfirst=True``
  or ``trylast=True`` is not registered, and is listed as broken with a message naming
  the hook (``specname`` and ``optionalhook`` are fine);
- what an exception raised by an implementation does depends on the hook (below): a
  registration hook that raises makes its plugin broken (``databay plugins`` shows the
  reason; ``DATABAY_STRICT_PLUGINS=1`` makes it an error), an observer that raises is
  logged and the transfer goes on.

Registration hooks
------------------

Called once per plugin when the plugins are loaded: on first use in a process (listing
them, resolving a component, building a pipeline), before anything runs. Each receives a
``register(name, target)`` callback:

- ``name`` is short and lowercase (``[a-z][a-z0-9_]*``), unique within its kind in the
  distribution; the target's class name is accepted too wherever a name is;
- ``target`` is the class itself or, better, a lazy ``"package.module:Attr"`` string,
  imported only when the component is used, so that listing plugins imports none of
  their clients;
- ``register`` raises ``ValueError`` for a malformed name or target, or a name registered
  twice: left unhandled, the plugin is broken and none of its components are registered.

A target is checked against its kind when it is resolved (by a pipeline, ``databay
validate``, ``databay inspect``, ``databay plugins --check``, ``from databay.inlets import
...``): a target that is not what its kind needs (``"os:system"`` registered as an
inlet) is an error naming the plugin, and is never called.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("databay")
hookimpl = pluggy.HookimplMarker("databay")


@hookspec
def databay_register_inlets(register):
    """Register inlets: ``register(name, target)``, ``target`` a concrete subclass of
    :class:`databay.Inlet` (or its ``"module:Class"`` path).

    A pipeline's ``inlets = [{ use = "name", ... }]`` calls the class with the table's
    other keys as keyword arguments. Return value: ignored.
    """


@hookspec
def databay_register_outlets(register):
    """Register outlets: ``register(name, target)``, ``target`` a concrete subclass of
    :class:`databay.Outlet` (or its ``"module:Class"`` path).

    A pipeline's ``outlets = [{ use = "name", ... }]`` calls the class with the table's
    other keys as keyword arguments. Return value: ignored.
    """


@hookspec
def databay_register_planners(register):
    """Register planners: ``register(name, target)``, ``target`` a concrete subclass of
    :class:`databay.BasePlanner` (or its ``"module:Class"`` path).

    A pipeline's ``[planner]`` table (``use = "name"``) calls the class with the table's
    other keys as keyword arguments and adds the pipeline's links. Return value: ignored.
    """


@hookspec
def databay_register_processors(register):
    """Register processors: ``register(name, target)``, ``target`` a function taking a
    list of records and returning the records to pass on, or a class whose instances are
    such functions (``__call__(records)``), like core's ``buffer``.

    A pipeline's ``processors = ["name"]`` uses a function as it is; a class is called with
    the table's other keys (``{ use = "name", ... }``). Return value: ignored.
    """


@hookspec
def databay_register_notifiers(register):
    """Register notifiers: ``register(name, target)``, ``target`` a concrete subclass of
    :class:`databay.notifier.Notifier`, or another class whose instances implement the
    observer hooks below.

    A pipeline's ``[[notifiers]]`` table (``use = "name"``) calls the class with the
    table's other keys and lets the instance observe the pipeline's transfers while it
    runs. Return value: ignored.
    """


@hookspec
def databay_register_stages(register):
    """Register stage backends: :class:`~databay.stage.Stage` subclasses, ``register(name, target)``.

    A pipeline selects one with ``stage = { use = "name", ... }`` in a link table (the other
    keys are its constructor's arguments); ``stage = "path"`` is the built-in ``sqlite``
    backend. ``databay.testing.StageTester`` checks a backend keeps the stage's guarantees."""


@hookspec
def databay_register_services(register):
    """Register services: ``register(name, target)``, ``target`` a concrete subclass of
    :class:`databay.service.Service` (or its ``"module:Class"`` path).

    A pipeline turns a service on with a top-level table named after it (``[web]``), whose
    keys are the constructor's arguments; ``databay run --NAME VALUE`` does too when the
    class declares an :attr:`~databay.service.Service.option`. The service then runs
    beside the pipeline on its planner's loop (see :mod:`databay.service`). Keep the
    module of the class light (import your server library inside ``start``): ``databay``
    reads the class's option at every start. Return value: ignored.
    """


@hookspec
def databay_register_commands(app):
    """Add commands to the ``databay`` command line; ``app`` is its ``typer.Typer``.

    Called at every start of the ``databay`` command (except ``databay --version``), after
    core's commands are added and before the arguments are parsed, once per plugin. Import
    what your commands need inside them, not here: this runs at every start.
    ``databay plugins --check`` also calls it on a scratch application. An exception, or a
    command named like one of core's (none of the plugin's commands is then added), is a
    warning naming the plugin (an error with ``--strict-plugins``). Return value: ignored.
    """


@hookspec
def databay_transfer_started(link, update):
    """A transfer of ``link`` started; ``update`` (:class:`databay.Update`) identifies it.

    Called before the transfer pulls, on the thread running it: the planner's event loop
    (or the caller of ``Link.transfer()``). Keep it quick: the transfer waits for it. An
    exception is logged (logger ``databay.observers``) and the transfer goes on. Return
    value: ignored.
    """


@hookspec
def databay_transfer_finished(link, update, stats):
    """A transfer of ``link`` finished without raising.

    ``stats`` tells what it did: ``update``, ``records_pulled``, ``records_pushed``,
    ``duration`` (seconds) and ``dead_lettered`` (batches a staged link's outlets gave up
    on). Called on the thread running the transfer, before it returns; keep it quick. An
    exception is logged and ignored. Return value: ignored.
    """


@hookspec
def databay_transfer_failed(link, update, exception):
    """A transfer of ``link`` raised ``exception``.

    Called on the thread running the transfer, before the exception goes on (to be
    logged and skipped if the link ignores exceptions, or to stop the planner); keep it
    quick. An exception raised here is logged and ignored. Return value: ignored.
    """


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
    on with the next batches. ``dead_letter`` is a :class:`databay.stage.DeadLetter` (stage
    file, outlet, batch id, size, attempts, time, error and traceback); ``exception`` is the
    last exception. Called once per batch, on the thread running the transfer; keep it
    quick. An exception is logged and ignored. Return value: ignored.
    """


@hookspec
def databay_planner_started(planner):
    """``planner`` is up: called on its event loop (``asyncio.get_running_loop()``), after
    every node's ``on_start`` and before its first transfer.

    This is where an observer starts something of its own on the planner's loop (a web
    dashboard serving while the planner runs). An implementation may be a coroutine
    function: the planner awaits it before transferring anything, so keep it short (start a
    task for longer work). Every planner built on ``databay.engine_planner.EnginePlanner``
    calls it (core's ``SchedulePlanner``, databay-aps's ``ApsPlanner``); a planner that is
    stopped before it is up never calls it. An exception is logged (logger
    ``databay.observers``) and the planner goes on. Return value: ignored (but awaited when
    it is awaitable).
    """


@hookspec
def databay_planner_stopped(planner):
    """``planner`` is stopping: called on its event loop after the transfers in flight
    finished, Buffers were flushed and every node's ``on_shutdown`` ran, just before the loop
    closes; only when :func:`databay_planner_started` was called for this run.

    Stop here what :func:`databay_planner_started` started on the loop. May be a coroutine
    function, which the planner awaits. An exception is logged and the planner goes on
    stopping. Return value: ignored (but awaited when it is awaitable).
    """
