"""``/metrics``: the pipeline in Prometheus's text format, through prometheus-client.

A custom collector reads the :class:`~databay_web.monitor.Monitor` and the stage backlogs
when scraped: transfers cost no metric object updates of their own, and the registry is
the dashboard's own (never the process-wide default one). Every label value is a link's
name (its tags) or an outlet's, redacted. The histograms are the pipeline's (per link they
would make dozens of series a link, too many for a pipeline of thousands of links; the
JSON API has each link's recent durations).

=====================================================  =========  ===========================
metric                                                 type       labels
=====================================================  =========  ===========================
``databay_transfers_total``                            counter    ``link``, ``outcome`` (ok, failed)
``databay_records_in_total``                           counter    ``link``: records pulled
``databay_records_out_total``                          counter    ``link``: records pushed
``databay_transfer_duration_seconds``                  histogram  (all links): transfers that finished
``databay_transfer_lateness_seconds``                  histogram  (all links): start minus due time
``databay_transfer_retries_total``                     counter    ``link``: pulls and pushes retried
``databay_transfers_skipped_total``                    counter    ``link``: due times skipped (overlap)
``databay_batches_dead_lettered_total``                counter    ``link``
``databay_stage_batches`` / ``databay_stage_records``  gauge      ``link``, ``outlet``, ``state`` (pending, dead)
``databay_link_paused``                                gauge      ``link`` (planners that pause links)
``databay_planner_running``                            gauge
=====================================================  =========  ===========================

The stage gauges have a series for each state of each outlet a staged link's stage knows
(the link's outlets, and any other its stage holds batches for): one that holds nothing
reads 0 rather than vanishing (after a purge, or while every batch is delivered at once).
A stage that cannot be read has none (not known, rather than 0).

A planner that transfers its links in other processes (the Celery planner's scheduler)
has no transfers here: then only the skipped due times, the stages, paused links and the
planner's gauge are exported, not counts of zero that would look like a stalled pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from databay_web.monitor import Monitor
from databay_web.quiet import QuietGate
from databay_web.stages import stage_outlet_keys

STAGE_GAUGE_STATES = ("pending", "dead")


class PipelineCollector(Collector):
    """Collects the metrics above from ``monitor`` and the last stage ``backlogs`` read
    (``{link index: backlog}``, refreshed by whoever serves ``/metrics`` before it scrapes).

    :param gate: when :func:`exposition` builds each family (by default a gate of its own).
    """

    def __init__(self, monitor: Monitor, names: dict[int, str], gate: QuietGate | None = None):
        self.monitor = monitor
        self.names = names
        self.gate = gate or QuietGate(monitor)
        self.backlogs: dict[int, dict[str, Any]] = {}
        self._outlets: dict[int, dict[str, None]] = {}
        """Per staged link, the outlets its stage knows (an ordered set, only ever added to)."""
        self._texts: dict[str, tuple[list[Sample], bytes]] = {}
        """Per family, its samples and their text at the last scrape."""

    def collect(self) -> Iterator[Metric]:
        counters = self.monitor.counters()
        here = self.monitor.transfers_here
        if here:
            transfers = CounterMetricFamily("databay_transfers", "Transfers that ended, by link and outcome.",
                                            labels=["link", "outcome"])
            for name, count, failures, *_ in counters:
                transfers.add_metric([name, "ok"], count - failures)
                transfers.add_metric([name, "failed"], failures)
            yield transfers
        for column, (name, text) in enumerate((
            ("databay_records_in", "Records pulled by the link's inlets."),
            ("databay_records_out", "Records pushed to the link's outlets."),
            ("databay_transfer_retries", "Pulls and pushes retried by a retry policy."),
            ("databay_transfers_skipped", "Due transfers skipped: the previous one still ran."),
            ("databay_batches_dead_lettered", "Batches an outlet gave up on (dead letters)."),
        ), start=3):
            if not here and name != "databay_transfers_skipped":
                continue
            family = CounterMetricFamily(name, text, labels=["link"])
            for row in counters:
                family.add_metric([row[0]], row[column])
            yield family
        yield from self._paused()
        if here:
            yield from self._histograms()
        yield from self._stages()
        planner_running = GaugeMetricFamily("databay_planner_running", "1 while the planner runs.")
        planner_running.add_metric([], 1 if getattr(self.monitor.planner, "running", False) else 0)
        yield planner_running

    def _paused(self) -> Iterator[Metric]:
        link_paused = getattr(self.monitor.planner, "link_paused", None)
        if not callable(link_paused):  # a planner that cannot pause links
            return
        paused = GaugeMetricFamily("databay_link_paused", "1 while the link is paused.", labels=["link"])
        for index, name in self.names.items():
            paused.add_metric([name], 1 if link_paused(self.monitor.link(index)) else 0)
        yield paused

    def _histograms(self) -> Iterator[Metric]:
        durations, duration_sum, lateness, lateness_sum = self.monitor.histograms()
        family = HistogramMetricFamily("databay_transfer_duration_seconds", "How long transfers that finished took.")
        family.add_metric([], durations, duration_sum)
        yield family
        family = HistogramMetricFamily("databay_transfer_lateness_seconds", "How late transfers started after their "
                                       "due time (planners that tell their due times).")
        family.add_metric([], lateness, lateness_sum)
        yield family

    def _stages(self) -> Iterator[Metric]:
        batches = GaugeMetricFamily("databay_stage_batches", "Batches a link's stage holds for an outlet.",
                                    labels=["link", "outlet", "state"])
        records = GaugeMetricFamily("databay_stage_records", "Records of those batches.",
                                    labels=["link", "outlet", "state"])
        for index, backlog in self.backlogs.items():
            if backlog["error"] is not None:  # unreadable: what it holds is not known
                continue
            held = {row["outlet"]: row for row in backlog["outlets"]}
            known = self._known_outlets(index)
            known.update(dict.fromkeys(held))
            for outlet in known:
                row = held.get(outlet) or {}
                for state in STAGE_GAUGE_STATES:
                    counts = row.get(state) or {"batches": 0, "records": 0}
                    batches.add_metric([self.names[index], outlet, state], counts["batches"])
                    records.add_metric([self.names[index], outlet, state], counts["records"])
        yield batches
        yield records

    def _known_outlets(self, index: int) -> dict[str, None]:
        known = self._outlets.get(index)
        if known is None:
            known = self._outlets[index] = dict.fromkeys(stage_outlet_keys(self.monitor.link(index)))
        return known

    def text(self, family: Metric) -> bytes:
        """``family`` in the text format: the last scrape's text when its samples are the
        same (a link's retries, skipped due times, dead letters and pauses seldom change,
        and formatting a thousand samples takes the loop milliseconds)."""
        last = self._texts.get(family.name)
        if last is not None and last[0] == family.samples:
            return last[1]
        text = generate_latest(_One(family))  # type: ignore[arg-type]  # it only calls collect()
        self._texts[family.name] = (family.samples, text)
        return text


class _One:
    """A registry of one metric family, for :func:`prometheus_client.generate_latest`."""

    def __init__(self, family: Metric):
        self.family = family

    def collect(self) -> list[Metric]:
        return [self.family]


async def exposition(collector: PipelineCollector) -> bytes:
    """The metrics in Prometheus's text format, a family at a time, each when no burst of
    transfers is due (``collector.gate``): with a thousand links, due transfers start in
    between rather than wait for the whole text."""
    started = time.monotonic()
    parts: list[bytes] = []
    families = collector.collect()
    while True:
        await collector.gate.pause(started)
        family = next(families, None)
        if family is None:
            return b"".join(parts)
        parts.append(collector.text(family))
