"""FtpOutlet upload throughput, side by side with raw ftplib and raw paramiko doing the same uploads.

One local server per protocol (FTP and FTPS with pyftpdlib, SFTP with asyncssh's server;
``databay_ftp.testing.LocalServer``, each in a process of its own), and two workloads:

- small files: 200 uploads of 100 records (one ~6.5 KB JSON-lines file each);
- large files: 8 uploads of 20,000 records (one ~1.3 MB file each).

Three writers, each with one connection (logged in before the clock starts) and a fresh
directory per round:

- the limit: the raw client serialising each batch of dicts to JSON lines itself and
  uploading it the way FtpOutlet does, atomically (ftplib: ``STOR`` to a temporary name,
  then ``RNFR``/``RNTO``; paramiko: ``putfo`` to a temporary name, then ``posix_rename``),
  with the same socket timeout (30 s) as FtpOutlet;
- for information, the raw client uploading straight to the final name (not atomic);
- databay: ``FtpOutlet.push`` of records (built before the clock starts), one push per file.

The machine this runs on is shared and noisy, so the writers take turns file by file
(upload 1 by each writer, in an order that rotates, then upload 2...): every writer meets
the same moments of the machine. Each writer's time is the sum over its uploads; every
writer's files must come out byte for byte equal. Medians of 5 rounds. Client CPU is this
process's ``time.process_time()`` (the servers run in processes of their own).

Target: FtpOutlet at least 0.9x the raw atomic upload, for each protocol and workload.
"""

from __future__ import annotations

import ftplib
import io
import json
import ssl
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, verdict  # noqa: E402

ROUNDS = 5
TARGET = 0.9
TIMEOUT = 30.0
WORKLOADS = {"small files": (200, 100), "large files": (8, 20_000)}
PROTOCOLS = ("ftp", "ftps", "sftp")


def make_batches(files: int, records: int) -> list[list[dict]]:
    return [[{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0}
             for i in range(n * records, (n + 1) * records)] for n in range(files)]


def json_lines(batch: list[dict]) -> bytes:
    """The batch as JSON lines, with ``json.dumps``' defaults (its fastest path; the payloads
    are ASCII, so the bytes equal FtpOutlet's UTF-8)."""
    dumps = json.dumps
    return "".join([dumps(payload) + "\n" for payload in batch]).encode()


class RawFtp:
    """ftplib, logged in and in ``directory``."""

    def __init__(self, server: Any, directory: str, atomic: bool):
        if server.scheme == "ftps":
            context = ssl.create_default_context(cafile=server.options["cacert"])
            self.ftp: ftplib.FTP = ftplib.FTP_TLS(context=context, timeout=TIMEOUT)
        else:
            self.ftp = ftplib.FTP(timeout=TIMEOUT)
        self.ftp.connect(server.host, server.port)
        self.ftp.login("databay", server.password)
        if isinstance(self.ftp, ftplib.FTP_TLS):
            self.ftp.prot_p()
        self.ftp.cwd(directory)
        self.atomic = atomic

    def upload(self, number: int, batch: list[dict]) -> None:
        data = io.BytesIO(json_lines(batch))
        if self.atomic:
            self.ftp.storbinary(f"STOR .{number}.jsonl.part", data)
            self.ftp.rename(f".{number}.jsonl.part", f"{number}.jsonl")
        else:
            self.ftp.storbinary(f"STOR {number}.jsonl", data)

    def close(self) -> None:
        self.ftp.quit()


class RawSftp:
    """paramiko, logged in and in ``directory``."""

    def __init__(self, server: Any, directory: str, atomic: bool):
        import paramiko

        self.client = paramiko.SSHClient()
        self.client.load_host_keys(server.options["known_hosts"])
        self.client.connect(server.host, server.port, "databay", server.password, timeout=TIMEOUT,
                            allow_agent=False, look_for_keys=False)
        self.sftp = self.client.open_sftp()
        self.sftp.get_channel().settimeout(TIMEOUT)
        self.sftp.chdir(directory)
        self.atomic = atomic

    def upload(self, number: int, batch: list[dict]) -> None:
        data = io.BytesIO(json_lines(batch))
        if self.atomic:
            self.sftp.putfo(data, f".{number}.jsonl.part")
            self.sftp.posix_rename(f".{number}.jsonl.part", f"{number}.jsonl")
        else:
            self.sftp.putfo(data, f"{number}.jsonl")

    def close(self) -> None:
        self.client.close()


class Databay:
    """FtpOutlet, logged in (by a first push, removed again) and writing into ``directory``."""

    def __init__(self, server: Any, directory: str, batches: list[list[dict]]):
        from databay import Record, Update
        from databay_ftp import FtpOutlet

        self.pushes = [([Record(payload) for payload in batch], Update(["bench"], number))
                       for number, batch in enumerate(batches)]
        self.outlet = FtpOutlet(server.url_for(directory=directory), password=server.password,
                                filename="{update}.jsonl", timeout=TIMEOUT, **server.options)
        self.outlet.push([Record({"warm": "up"}, {FtpOutlet.FILENAME: "warm-up"})], Update(["bench"], -1))
        (server.root / directory.lstrip("/") / "warm-up").unlink()

    def upload(self, number: int, batch: list[dict]) -> None:
        self.outlet.push(*self.pushes[number])

    def close(self) -> None:
        self.outlet.on_shutdown()


def contents(root: Path, directory: str) -> dict[str, bytes]:
    folder = root / directory.lstrip("/")
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def measure(server: Any, batches: list[list[dict]], label: str) -> dict[str, list[tuple[float, float]]]:
    """``(wall, cpu)`` seconds of each writer in each round, summed over its uploads."""
    raw = RawSftp if server.scheme == "sftp" else RawFtp
    results: dict[str, list[tuple[float, float]]] = {"raw": [], "raw, not atomic": [], "databay": []}
    for round_number in range(ROUNDS + 1):  # round 0 warms up
        directories = {name: f"/{label.replace(' ', '-')}-{name.replace(', ', '-')}-{round_number}"
                       for name in results}
        for directory in directories.values():
            (server.root / directory.lstrip("/")).mkdir()
        writers = {"raw": raw(server, directories["raw"], True),
                   "raw, not atomic": raw(server, directories["raw, not atomic"], False),
                   "databay": Databay(server, directories["databay"], batches)}
        wall = dict.fromkeys(writers, 0.0)
        cpu = dict.fromkeys(writers, 0.0)
        order = list(writers)
        for number, batch in enumerate(batches):
            shift = number % len(order)
            for name in order[shift:] + order[:shift]:
                began, began_cpu = time.perf_counter(), time.process_time()
                writers[name].upload(number, batch)
                wall[name] += time.perf_counter() - began
                cpu[name] += time.process_time() - began_cpu
        for writer in writers.values():
            writer.close()
        written = {name: contents(server.root, directory) for name, directory in directories.items()}
        assert written["databay"] == written["raw"] == written["raw, not atomic"], \
            "every writer must upload the same files"
        if round_number:
            for name in results:
                results[name].append((wall[name], cpu[name]))
    return results


def main() -> int:
    from databay_ftp.testing import LocalServer

    ok = True
    for label, (files, records) in WORKLOADS.items():
        batches = make_batches(files, records)
        size = sum(len(json_lines(batch)) for batch in batches)
        table = Table(f"FtpOutlet, {label}: {files} uploads of {records:,} records ({size / files / 1024:,.1f} KB "
                      f"each), taking turns file by file; median of {ROUNDS}",
                      ["protocol", "writer", "files/s", "MB/s", "x raw (atomic)", "client CPU s", "x raw CPU"])
        ratios = {}
        for scheme in PROTOCOLS:
            with LocalServer(scheme) as server:
                results = measure(server, batches, label)
            wall = {name: median(w for w, _ in values) for name, values in results.items()}
            cpu = {name: median(c for _, c in values) for name, values in results.items()}
            client = "paramiko" if scheme == "sftp" else "ftplib"
            names = {"raw": f"raw {client}, atomic (limit)", "raw, not atomic": f"raw {client}, not atomic",
                     "databay": "databay FtpOutlet"}
            for name, seconds in wall.items():
                table.add_row(scheme, names[name], files / seconds, size / seconds / 1e6,
                              f"{wall['raw'] / seconds:.2f}x", cpu[name], f"{cpu[name] / cpu['raw']:.2f}x")
            ratios[scheme] = wall["raw"] / wall["databay"]
        table.print()
        for scheme, ratio in ratios.items():
            ok &= verdict(f"{scheme} {label}, FtpOutlet / raw atomic upload", ratio, TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
