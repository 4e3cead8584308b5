"""The entry-point cache: used while sys.path's folders are unchanged, never stale, never someone else's.

Distributions are real ``*.dist-info`` folders on ``sys.path``, as pip leaves them; their
modification times are set explicitly, so that no test depends on the clock's resolution.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import importlib_metadata  # noqa: F401 - imported before sys.path is narrowed below
import pytest
from databay.plugins import discovery, entry_point_cache
from databay.plugins.discovery import PluginEntryPoint

AN_HOUR_AGO = time.time() - 3600


def dist_info(site, dist, version="1.0", value="dbt_cached.plugin", when=AN_HOUR_AGO):
    """Install-like metadata for ``dist`` in ``site``; both folders dated ``when``."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[databay]\nplugin = {value}\n", encoding="utf-8")
    settle(site, when)
    return info


def settle(folder, when=AN_HOUR_AGO):
    os.utime(folder, (when, when))


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder of distributions in front of sys.path (the standard library stays: metadata needs it)."""
    folder = tmp_path / "site"
    folder.mkdir()
    settle(folder)
    stdlib = [p for p in sys.path if p and "site-packages" not in p and os.path.realpath(p).startswith(sys.base_prefix)]
    monkeypatch.setattr(sys, "path", [str(folder), *stdlib])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return folder


def names(found):
    return [(ep.distribution, ep.version, ep.value) for ep in found]


def test_entry_points_are_read_then_cached_and_the_cache_is_used(site, monkeypatch):
    dist_info(site, "dbt-cached", "1.0")
    first = discovery.entry_points()
    assert names(first) == [("dbt-cached", "1.0", "dbt_cached.plugin")]
    assert os.path.exists(entry_point_cache.cache_file())

    monkeypatch.setattr(discovery, "_read_metadata", lambda: pytest.fail("the cache was not used"))
    assert discovery.entry_points() == first


@pytest.mark.parametrize("change", ["install", "uninstall", "upgrade"])
def test_any_change_of_a_folder_on_sys_path_is_seen(site, change):
    info = dist_info(site, "dbt-cached", "1.0")
    discovery.entry_points()
    if change == "install":
        dist_info(site, "dbt-other", "2.0", value="dbt_other.plugin", when=AN_HOUR_AGO + 60)
        expected = [("dbt-cached", "1.0", "dbt_cached.plugin"), ("dbt-other", "2.0", "dbt_other.plugin")]
    elif change == "uninstall":
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
        settle(site, AN_HOUR_AGO + 60)
        expected = []
    else:
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
        dist_info(site, "dbt-cached", "1.1", when=AN_HOUR_AGO + 60)
        expected = [("dbt-cached", "1.1", "dbt_cached.plugin")]
    assert names(discovery.entry_points()) == expected


def test_a_folder_changed_just_now_is_not_cached(site):
    dist_info(site, "dbt-fresh", when=time.time())
    assert names(discovery.entry_points()) == [("dbt-fresh", "1.0", "dbt_cached.plugin")]
    assert not os.path.exists(entry_point_cache.cache_file())


def test_the_key_follows_sys_path_and_each_folders_time(site, tmp_path, monkeypatch):
    key = entry_point_cache.current_key()
    assert entry_point_cache.current_key() == key
    settle(site, AN_HOUR_AGO + 1)
    assert entry_point_cache.current_key() != key
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setattr(sys, "path", [str(other), *sys.path])
    assert str(other) in "\n".join(entry_point_cache.current_key())


def test_no_cache_when_another_finder_can_provide_distributions(site, monkeypatch):
    class ZipDistributions:
        @staticmethod
        def find_spec(*args):
            return None

        @staticmethod
        def find_distributions(context=None):
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, ZipDistributions()])
    assert entry_point_cache.current_key() is None
    dist_info(site, "dbt-uncached")
    assert names(discovery.entry_points()) == [("dbt-uncached", "1.0", "dbt_cached.plugin")]
    assert not os.path.exists(entry_point_cache.cache_file())


def stored(site):
    dist_info(site, "dbt-cached")
    discovery.entry_points()
    return entry_point_cache.cache_file()


@pytest.mark.parametrize("tamper", ["group writable", "other key", "malformed", "empty"])
def test_a_cache_file_that_is_not_exactly_right_is_a_miss(site, tamper):
    path = stored(site)
    text = open(path, encoding="utf-8").read()
    if tamper == "group writable":
        os.chmod(path, 0o664)
    elif tamper == "other key":
        open(path, "w", encoding="utf-8").write(text.replace(str(site), str(site) + "x"))
    elif tamper == "malformed":
        open(path, "w", encoding="utf-8").write(text.rstrip("\n") + "\tone field too many\n")
    else:
        open(path, "w", encoding="utf-8").close()
    assert entry_point_cache.read(entry_point_cache.current_key()) is None
    assert names(discovery.entry_points()) == [("dbt-cached", "1.0", "dbt_cached.plugin")]


def test_the_cache_file_is_private(site):
    path = stored(site)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o077 == 0


def test_what_would_not_read_back_the_same_is_not_stored(site):
    key = entry_point_cache.current_key()
    entry_point_cache.write(key, [("name", "module\twith tab", "", "dist", "1")])
    assert not os.path.exists(entry_point_cache.cache_file())


def test_no_cache_without_a_home(site, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "relative/home")
    assert entry_point_cache.cache_file() is None
    dist_info(site, "dbt-homeless")
    assert names(discovery.entry_points()) == [("dbt-homeless", "1.0", "dbt_cached.plugin")]


def test_old_cache_files_are_pruned(site, tmp_path):
    folder = os.path.dirname(entry_point_cache.cache_file())
    os.makedirs(folder)
    for number in range(entry_point_cache.MAX_FILES + 5):
        old = os.path.join(folder, f"entry-points-{number:08x}.txt")
        open(old, "w").close()
        os.utime(old, (AN_HOUR_AGO + number, AN_HOUR_AGO + number))
    stored(site)
    kept = sorted(n for n in os.listdir(folder) if n.startswith("entry-points-"))
    assert len(kept) == entry_point_cache.MAX_FILES
    assert "entry-points-00000000.txt" not in kept and os.path.basename(entry_point_cache.cache_file()) in kept


def test_an_entry_point_loads_its_module_or_attribute():
    assert PluginEntryPoint("x", "databay.plugins.registry", "", "d", "1").load().__name__ == (
        "databay.plugins.registry")
    assert PluginEntryPoint("x", "databay.plugins.registry", "Component.load", "d", "1").load().__name__ == "load"
    assert PluginEntryPoint("x", "m", "a.b", "d", "1").value == "m:a.b"


def test_listing_from_the_cache_does_not_import_importlib_metadata(tmp_path, monkeypatch):
    """What the cache saves: a fresh process finds the plugins without importlib-metadata."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    working = tmp_path / "working"  # sys.path[0] of `python -c`: not the cache's parent, which changes
    working.mkdir()
    settle(working)
    code = ("import json, sys\n"
            "from databay.plugins import entry_point_cache\n"
            "entry_point_cache.SETTLE_SECONDS = 0  # the test venv may have been installed just now\n"
            "from databay.plugins.discovery import entry_points\n"
            "found = [ep.value for ep in entry_points()]\n"
            "print(json.dumps([found, 'importlib_metadata' in sys.modules]))\n")
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], cwd=working, env=dict(os.environ),
                                      capture_output=True, text=True, check=True).stdout) for _ in range(2)]
    assert runs[0][1] is True and runs[1][1] is False  # read, then cached
    assert runs[0][0] == runs[1][0]
