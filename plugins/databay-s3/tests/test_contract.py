"""databay's conformance kit, run against the S3 components."""

from __future__ import annotations

import pytest
from databay import Record
from databay.testing import InletTester, OutletTester
from databay_s3 import S3Inlet, S3Outlet
from databay_s3.formats import decode
from databay_s3.testing import free_port


class TestS3OutletContract(OutletTester):
    @pytest.fixture(autouse=True)
    def _server(self, endpoint: str, bucket) -> None:
        self.endpoint, self.bucket = endpoint, bucket

    def get_outlet(self):
        return [
            S3Outlet(self.bucket.name, "jsonl/{time:%Y%m%d%H%M%S%f}-{uuid}.{ext}", endpoint_url=self.endpoint),
            S3Outlet(self.bucket.name, "json/{tags}/{update}/{time}-{uuid}", "json", endpoint_url=self.endpoint),
        ]

    def read_back(self, outlet):
        prefix = outlet.key.split("/", 1)[0] + "/"
        return [payload for key in self.bucket.keys(prefix)
                for payload in decode(outlet.format, self.bucket.read(key), key)]

    def get_failing_outlet(self):
        return S3Outlet(self.bucket.name, endpoint_url=f"http://127.0.0.1:{free_port()}",
                        client_options={"retries": {"total_max_attempts": 1}})


class TestS3CsvOutletContract(OutletTester):
    """CSV reads back strings: the records hold strings."""

    @pytest.fixture(autouse=True)
    def _server(self, endpoint: str, bucket) -> None:
        self.endpoint, self.bucket = endpoint, bucket

    def get_outlet(self):
        return S3Outlet(self.bucket.name, "csv/{time:%Y%m%d%H%M%S%f}.{ext}", "csv", endpoint_url=self.endpoint)

    def get_records(self):
        return [Record({"id": "1", "name": "alpha"}, {"__inlet__": "OutletTester()"}),
                Record({"id": "2", "name": "beta, \"quoted\"\nline"}), Record({"id": "3", "name": ""})]

    def read_back(self, outlet):
        return [row for key in self.bucket.keys("csv/") for row in decode("csv", self.bucket.read(key), key)]

    def get_failing_outlet(self):
        return S3Outlet("no-such-bucket", "csv/{uuid}.{ext}", "csv", endpoint_url=self.endpoint)


class TestS3InletContract(InletTester):
    @pytest.fixture(autouse=True)
    def _server(self, endpoint: str, bucket) -> None:
        self.endpoint, self.bucket = endpoint, bucket
        bucket.put("in/1.jsonl", b'{"n": 1}\n{"n": 2}\n')
        bucket.put("in/2.jsonl", b'{"n": 3}\n')
        bucket.put("csv/1.csv", b"n,name\r\n1,a\r\n")

    def get_inlet(self):
        return [
            S3Inlet(self.bucket.name, "in/", endpoint_url=self.endpoint),
            S3Inlet(self.bucket.name, "csv/", "csv", endpoint_url=self.endpoint, metadata={"S3Inlet.SOURCE": "x"}),
        ]

    def get_failing_inlet(self):
        return S3Inlet(self.bucket.name, endpoint_url=f"http://127.0.0.1:{free_port()}",
                       client_options={"retries": {"total_max_attempts": 1}})
