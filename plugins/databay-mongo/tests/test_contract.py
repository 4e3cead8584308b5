"""databay's conformance kit, run against the MongoDB components."""

from __future__ import annotations

import pymongo
import pytest
from databay.testing import InletTester, OutletTester
from databay_mongo.inlet import MongoInlet
from databay_mongo.outlet import MongoOutlet
from databay_mongo.testing import free_port


class TestMongoOutletContract(OutletTester):
    @pytest.fixture(autouse=True)
    def _server(self, mongo_uri: str, database: str) -> None:
        self.uri, self.database = mongo_uri, database

    def get_outlet(self):
        return [
            MongoOutlet(self.database, "contract", uri=self.uri),
            MongoOutlet(self.database, "contract", uri=self.uri, create_collections=False),
        ]

    def setUp(self) -> None:
        super().setUp()
        with pymongo.MongoClient(self.uri) as client:
            if "contract" not in client[self.database].list_collection_names():
                client[self.database].create_collection("contract")

    def read_back(self, outlet):
        with pymongo.MongoClient(self.uri) as client:
            return list(client[self.database]["contract"].find({}, {"_id": False}))

    def get_failing_outlet(self):
        return MongoOutlet(self.database, host="127.0.0.1", port=free_port(), timeout=0.5)


class TestMongoInletContract(InletTester):
    @pytest.fixture(autouse=True)
    def _server(self, mongo_uri: str, database: str, db) -> None:
        self.uri, self.database = mongo_uri, database
        db["source"].insert_many([{"seq": i, "name": f"n{i}"} for i in range(5)])

    def get_inlet(self):
        return [
            MongoInlet("source", self.database, uri=self.uri),
            MongoInlet("source", self.database, uri=self.uri, field="seq", query={"seq": {"$gte": 2}},
                       metadata={"MongoInlet.SOURCE": "x"}),
        ]

    def get_failing_inlet(self):
        return MongoInlet("source", self.database, host="127.0.0.1", port=free_port(), timeout=0.5)
