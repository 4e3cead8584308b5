"""databay's conformance kit, run against the SQL components on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from databay.testing import InletTester, OutletTester
from databay_sql import SqlInlet, SqlOutlet
from databay_sql.testing import free_port


def contract_tables(db) -> None:
    db.create_table("contract", sa.Column("id", sa.Integer), sa.Column("name", sa.String(20)),
                    sa.Column("value", sa.Float))
    db.create_table("contract_keyed", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("name", sa.String(20)), sa.Column("value", sa.Float))


class OnDatabase:
    """Puts the database of the fixture named ``database`` in ``self.db``, prepared by
    :meth:`prepare`, before each test."""

    database: str
    db = None

    @pytest.fixture(autouse=True)
    def _database(self, request) -> None:
        self.db = request.getfixturevalue(self.database)
        self.prepare(self.db)

    def prepare(self, db) -> None:
        raise NotImplementedError


class SqlOutletContract(OnDatabase, OutletTester):
    __test__ = False

    def prepare(self, db) -> None:
        contract_tables(db)

    def get_outlet(self):
        return [SqlOutlet(self.db.url, "contract"), SqlOutlet(self.db.url, "contract_keyed", "upsert", "id")]

    def read_back(self, outlet):
        if outlet.mode == "upsert":
            return None  # pushing the same records again adds no row: nothing to count across pushes
        return self.db.rows("contract")


class TestSqliteOutletContract(SqlOutletContract):
    database = "sqlite_db"

    def get_failing_outlet(self):
        return SqlOutlet(f"sqlite:///{self.db.engine.url.database}.missing/x.db", "contract")


class TestPostgresOutletContract(SqlOutletContract):
    database = "pg_db"

    def get_failing_outlet(self):
        return SqlOutlet(f"postgresql+psycopg://databay:pw@127.0.0.1:{free_port()}/x", "contract", timeout=1)


class SqlInletContract(OnDatabase, InletTester):
    __test__ = False

    def get_inlet(self):
        return [
            SqlInlet(self.db.url, "source", cursor="seq"),
            SqlInlet(self.db.url, "source", cursor=["seq", "name"], batch_size=2, metadata={"SqlInlet.SOURCE": "x"}),
            SqlInlet(self.db.url, query="SELECT seq, name FROM source WHERE seq >= :low", parameters={"low": 2},
                     cursor="seq"),
        ]

    def prepare(self, db) -> None:
        db.create_table("source", sa.Column("seq", sa.Integer), sa.Column("name", sa.String(20)))
        db.insert("source", [{"seq": i, "name": f"n{i}"} for i in range(5)])


class TestSqliteInletContract(SqlInletContract):
    database = "sqlite_db"

    def get_failing_inlet(self):
        return SqlInlet(self.db.url, "no_such_table", cursor="seq")


class TestPostgresInletContract(SqlInletContract):
    database = "pg_db"

    def get_failing_inlet(self):
        return SqlInlet(f"postgresql+psycopg://databay:pw@127.0.0.1:{free_port()}/x", "source", cursor="seq",
                        timeout=1)
