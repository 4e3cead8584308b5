"""databay's conformance kit, run against FtpOutlet and FtpInlet on each protocol."""

from __future__ import annotations

import json
import os
import posixpath

import pytest
from databay.testing import InletTester, OutletTester
from databay_ftp import FtpInlet, FtpOutlet
from databay_ftp.testing import SCHEMES, free_port

from .conftest import Remote, new_remote


class OnRemote:
    """Puts a new directory on the server of the class's ``scheme`` in ``self.remote``,
    prepared by :meth:`prepare`, before each test."""

    scheme: str
    remote: Remote

    @pytest.fixture(autouse=True)
    def _remote(self, request, servers) -> None:
        self.remote = new_remote(servers, self.scheme, f"contract-{os.getpid()}-{request.node.name}")
        self.prepare(self.remote)

    def prepare(self, remote: Remote) -> None:
        pass


class OutletContract(OnRemote, OutletTester):
    __test__ = False

    def get_outlet(self):
        kwargs = self.remote.components_kwargs()
        # Names that sort in the order they were written, so read_back() lists new files last.
        return [FtpOutlet(self.remote.url, filename="{time:%Y%m%d%H%M%S%f}-{uuid}.jsonl", **kwargs),
                FtpOutlet(self.remote.url, filename="{time:%Y%m%d%H%M%S%f}/{tags}.{ext}", format="json",
                          idle_timeout=0, **kwargs)]

    def read_back(self, outlet):
        delivered = []
        for name, content in sorted(self.remote.files().items()):
            if name.endswith(".json"):
                delivered.extend(json.loads(content))
            else:
                delivered.extend(json.loads(line) for line in content.splitlines())
        return delivered

    def get_failing_outlet(self):
        return FtpOutlet(self.remote.url.replace(self.remote.url.split("@")[1].split("/")[0],
                                                 f"127.0.0.1:{free_port()}"),
                         timeout=1, **self.remote.components_kwargs())


class InletContract(OnRemote, InletTester):
    __test__ = False

    def prepare(self, remote: Remote) -> None:
        for n in range(3):
            remote.write(f"{n}.jsonl", f'{{"n": {n}}}\n{{"n": {n + 10}}}\n'.encode())
        remote.write("blob.bin", b"\x00\xff")

    def get_inlet(self):
        kwargs = self.remote.components_kwargs()
        return [FtpInlet(self.remote.url, "*.jsonl", "jsonl", **kwargs),
                FtpInlet(self.remote.url, "*.bin", max_files=1, metadata={"FtpInlet.SOURCE": "x"}, **kwargs)]

    def get_failing_inlet(self):
        return FtpInlet(posixpath.join(self.remote.url, "missing"), **self.remote.components_kwargs())


def on_scheme(contract: type, scheme: str) -> type:
    """``contract`` run on the server of ``scheme``: a test class of its own."""
    return type(f"Test{scheme.capitalize()}{contract.__name__.removesuffix('Contract')}", (contract,), {"scheme": scheme})


TestFtpOutlet, TestFtpsOutlet, TestSftpOutlet = (on_scheme(OutletContract, scheme) for scheme in SCHEMES)
TestFtpInlet, TestFtpsInlet, TestSftpInlet = (on_scheme(InletContract, scheme) for scheme in SCHEMES)
