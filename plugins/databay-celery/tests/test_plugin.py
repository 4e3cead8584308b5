"""The installed distribution registers the planner, the stage and the worker command, lazily."""

from __future__ import annotations

import subprocess

import pytest
from cluster_run import DATABAY
from databay import Link, load_pipeline
from databay.pipeline import PipelineError
from databay.testing import PluginTester
from databay_celery import CeleryPlanner
from databay_celery.cluster import ClusterSettings


class TestPlugin(PluginTester):
    distribution = "databay-celery"
    components = {"planner": {"celery": "databay_celery.planner:CeleryPlanner"},
                  "stage": {"redis": "databay_celery.stage:RedisStage"}}
    watch = ["celery", "kombu", "redis", "databay_celery.planner", "databay_celery.stage", "databay_celery.worker"]


def test_the_worker_command_is_listed():
    help_text = subprocess.run([DATABAY, "worker", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--concurrency" in help_text


PIPELINE = """
[planner]
use = "celery"
broker = "${{REDIS_URL}}"
{planner}

[[links]]
tags = ["dice"]
interval = "1s"
inlets = ["random_int"]
outlets = ["null"]
{link}
"""


def test_a_pipeline_builds_the_planner_with_its_links():
    pipeline = load_pipeline(PIPELINE.format(planner='name = "shop"', link=""),
                             environ={"REDIS_URL": "redis://:pw-secret-1@127.0.0.1:1/0"})
    planner = pipeline.planner
    assert isinstance(planner, CeleryPlanner)
    assert planner.settings.queue == "databay.shop"
    assert planner.link(pipeline.links[0].identity) is pipeline.links[0]
    assert "pw-secret-1" not in repr(planner)


@pytest.mark.parametrize(("planner", "link", "message"), [
    ("", 'stage = "state/dice.stage"', "only one machine reaches"),
    ("lease_seconds = 100", "", "visibility_timeout .* must be longer than lease_seconds"),
    ('name = "a b"', "", "name must be letters"),
])
def test_mistakes_are_reported_with_their_place(planner, link, message):
    with pytest.raises(PipelineError, match=message):
        load_pipeline(PIPELINE.format(planner=planner, link=link), environ={"REDIS_URL": "redis://127.0.0.1:1/0"})


def test_links_made_in_python_need_an_identity():
    with pytest.raises(ValueError, match="has no identity"):
        CeleryPlanner(Link([], [], 1), broker="redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match="broker is required"):
        CeleryPlanner()


def test_settings_are_checked():
    with pytest.raises(ValueError, match="inflight_seconds"):
        ClusterSettings("redis://x", inflight_seconds=10)
    with pytest.raises(ValueError, match="lease_seconds must be a positive"):
        ClusterSettings("redis://x", lease_seconds=0)


def test_a_worker_refuses_a_pipeline_of_another_planner(tmp_path):
    path = tmp_path / "local.toml"
    path.write_text("[[links]]\ninterval = 1\ninlets = ['null']\noutlets = ['null']\n")
    result = subprocess.run([DATABAY, "worker", str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "not the Celery planner" in result.stderr


def test_a_links_identity_changes_with_its_schedule_and_time_zone():
    pytest.importorskip("databay_aps", reason="cron schedules with the celery planner need databay-aps")

    def identity(when: str) -> str:
        text = PIPELINE.format(planner="", link="").replace('interval = "1s"', when)
        return load_pipeline(text, environ={"REDIS_URL": "redis://127.0.0.1:1/0"}).links[0].identity

    written = ['interval = "1s"', 'interval = "2s"',
               'schedule = "every day at 06:30"', 'schedule = "every day at 06:45"',
               'schedule = "every day at 06:30"\ntimezone = "Europe/Amsterdam"',
               'schedule = "every day at 06:30"\ntimezone = "Asia/Tokyo"',
               'cron = "30 6 * * *"', 'cron = "30 6 * * *"\ntimezone = "Asia/Tokyo"',
               'cron = "30 6 * * *"\ntimezone = "Asia/Tokyo"\nend_date = "2030-01-01T00:00"']
    identities = [identity(when) for when in written]
    assert len(set(identities)) == len(written), dict(zip(written, identities))
    assert identity('schedule  =  "every day at 06:30"') == identities[2]  # reformatting keeps it
