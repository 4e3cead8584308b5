"""The SQL example (examples/sql_orders.toml with examples/sql_shop.py) does what its comments
say, on SQLite (offline) and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def shop(*args: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / "sql_shop.py"), *args], capture_output=True, text=True,
                            cwd=cwd, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_the_example(installed, tmp_path: Path, env: dict[str, str], secret: str | None = None) -> None:
    pipeline = str(EXAMPLES / "sql_orders.toml")
    shop(cwd=tmp_path, env=env)
    for expected, sell in (("5 pulled, 5 pushed", 3), ("3 pulled, 3 pushed", 0), ("0 pulled, 0 pushed", 0)):
        result = installed.databay("run", pipeline, "--once", "--no-live", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert expected in result.stdout  # after a restart, the position came back from the stage
        assert secret is None or secret not in result.stdout + result.stderr
        if sell:
            shop("--sell", str(sell), cwd=tmp_path, env=env)
    assert shop("--show", cwd=tmp_path, env=env).splitlines() == [
        "1 ada 0.99 09:00", "2 alan 7.99 09:01", "3 grace 14.99 09:02", "4 edsger 21.99 09:03",
        "5 barbara 28.99 09:04", "6 ada 35.99 09:05", "7 alan 42.99 09:06", "8 grace 49.99 09:07"]


def test_orders_copied_once_each_on_sqlite(installed, tmp_path):
    run_the_example(installed, tmp_path, env={})
    assert (tmp_path / "out" / "orders.stage").exists()


def test_orders_copied_once_each_on_postgresql(installed, tmp_path):
    import sqlalchemy as sa
    from databay_sql.testing import postgres_missing_reason, server_for_tests

    reason = postgres_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with server_for_tests() as server:
        env = {"SHOP_URL": server.create_database("example_shop"),
               "WAREHOUSE_URL": server.create_database("example_warehouse")}
        try:
            run_the_example(installed, tmp_path, env, secret=sa.make_url(env["SHOP_URL"]).password)
        finally:
            server.drop_database("example_shop")
            server.drop_database("example_warehouse")
