"""``/metrics``: the pipeline in Prometheus's text format, through prometheus-client.

A custom collector reads the :class:`~databay_web.monitor.Monitor` and the stage backlogs
when scraped: transfers cost no metric object updates of their own, and the registry is
the dashboard's own (never the process-wide default one). Every label value is a link's
name (its tags) or an outlet's, redacted.

=====================================================  =========  ===========================
metric                                                 type       labels
=====================================================  =========  ===========================
``databay_transfers_total``                            counter    ``link``, ``outcome`` (ok, failed)
``databay_records_in_total``                           counter    ``link``: records pulled
``databay_records_out_total``                          counter    ``link``: records pushed
``databay_transfer_duration_seconds``                  histogram  ``link``
``databay_transfer_lateness_seconds``                  histogram  ``link``: start minus due time
``databay_transfer_retries_total``                     counter    ``link``: pulls and pushes retried
``databay_transfers_skipped_total``                    counter    ``link``: due times skipped (overlap)
``databay_batches_dead_lettered_total``                counter    ``link``
``databay_stage_batches`` / ``databay_stage_records``  gauge      ``link``, ``outlet``, ``state`` (pending, dead)
``databay_link_running`` / ``databay_link_paused``     gauge      ``link``
``databay_planner_running``                            gauge
=====================================================  =========  ===========================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from databay_web.monitor import Monitor


class PipelineCollector(Collector):
    """Collects the metrics above from ``monitor`` and the last stage ``backlogs`` read
    (``{link index: backlog}``, refreshed by whoever serves ``/metrics`` before it scrapes)."""

    def __init__(self, monitor: Monitor, names: dict[int, str]):
        self.monitor = monitor
        self.names = names
        self.backlogs: dict[int, dict[str, Any]] = {}

    def collect(self) -> Iterator[Metric]:
        links = self.monitor.snapshot()
        planner = self.monitor.planner
        transfers = CounterMetricFamily("databay_transfers", "Transfers that ended, by link and outcome.",
                                        labels=["link", "outcome"])
        counters = {key: CounterMetricFamily(name, text, labels=["link"]) for key, name, text in (
            ("records_in", "databay_records_in", "Records pulled by the link's inlets."),
            ("records_out", "databay_records_out", "Records pushed to the link's outlets."),
            ("retries", "databay_transfer_retries", "Pulls and pushes retried by a retry policy."),
            ("skipped", "databay_transfers_skipped", "Due transfers skipped: the previous one still ran."),
            ("dead_lettered", "databay_batches_dead_lettered", "Batches an outlet gave up on (dead letters)."),
        )}
        running = GaugeMetricFamily("databay_link_running", "1 while a transfer of the link runs.", labels=["link"])
        paused = GaugeMetricFamily("databay_link_paused", "1 while the link is paused.", labels=["link"])
        link_paused = getattr(planner, "link_paused", None)
        for link in links:
            name = link["name"]
            transfers.add_metric([name, "ok"], link["transfers"] - link["failures"])
            transfers.add_metric([name, "failed"], link["failures"])
            for key, family in counters.items():
                family.add_metric([name], link[key])
            running.add_metric([name], 1 if link["running"] else 0)
            if callable(link_paused):
                paused.add_metric([name], 1 if link_paused(self.monitor.link(link["index"])) else 0)
        yield transfers
        yield from counters.values()
        yield running
        yield paused
        yield from self._histograms()
        yield from self._stages()
        planner_running = GaugeMetricFamily("databay_planner_running", "1 while the planner runs.")
        planner_running.add_metric([], 1 if getattr(planner, "running", False) else 0)
        yield planner_running

    def _histograms(self) -> Iterator[Metric]:
        durations = HistogramMetricFamily("databay_transfer_duration_seconds", "How long transfers took.",
                                          labels=["link"])
        lateness = HistogramMetricFamily("databay_transfer_lateness_seconds", "How late transfers started "
                                         "after their due time (planners that tell their due times).",
                                         labels=["link"])
        for name, duration_buckets, duration_sum, lateness_buckets, lateness_sum in self.monitor.histograms():
            durations.add_metric([name], duration_buckets, duration_sum)
            lateness.add_metric([name], lateness_buckets, lateness_sum)
        yield durations
        yield lateness

    def _stages(self) -> Iterator[Metric]:
        batches = GaugeMetricFamily("databay_stage_batches", "Batches a link's stage holds for an outlet.",
                                    labels=["link", "outlet", "state"])
        records = GaugeMetricFamily("databay_stage_records", "Records of those batches.",
                                    labels=["link", "outlet", "state"])
        for index, backlog in self.backlogs.items():
            for row in backlog["outlets"]:
                for state in ("pending", "dead"):
                    held = row[state] or {"batches": 0, "records": 0}
                    batches.add_metric([self.names[index], row["outlet"], state], held["batches"])
                    records.add_metric([self.names[index], row["outlet"], state], held["records"])
        yield batches
        yield records


def registry_for(collector: PipelineCollector) -> CollectorRegistry:
    """A registry of its own holding ``collector`` (no process or platform metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
