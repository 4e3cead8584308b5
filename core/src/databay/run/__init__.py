"""The run layer: everything that carries out transfers.

- :mod:`~databay.run.transfer`: one transfer of a link, the envelope every transfer shares
  (its :class:`~databay.update.Update`, observers, :class:`~databay.run.stats.TransferStats`);
- :mod:`~databay.run.steps`: the steps of a transfer (pull, process, group, copy, push);
- :mod:`~databay.run.plain` and :mod:`~databay.run.staged`: the two delivery strategies
  over those steps, without and with a stage;
- :mod:`~databay.run.engine`: one event loop running many links on time, at the due times
  of their :mod:`~databay.run.schedules`;
- :mod:`~databay.run.state`: what the run layer keeps per link (the model's link keeps none);
- :mod:`~databay.run.nodes`: starting and stopping a link's inlets, outlets and stage;
- :mod:`~databay.run.dispatch`: what ``Link.transfer()``, ``on_start()`` and
  ``on_shutdown()`` do, with or without a planner;
- :mod:`~databay.run.flushing`: delivering what stateful processors hold at shutdown;
- :mod:`~databay.run.runtime`: loops and the thread pool synchronous nodes run in.

:mod:`databay.observers` belongs to this layer too. It imports the model and the stage,
never the planners, pipelines or the command line (``core/.importlinter``).
"""
