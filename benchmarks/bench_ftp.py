"""FtpOutlet upload throughput, side by side with raw ftplib and raw paramiko doing the same uploads.

One local server per protocol (FTP and FTPS with pyftpdlib, SFTP with asyncssh's server;
``databay_ftp.testing.LocalServer``, each in a process of its own), and two workloads:

- small files: 200 pushes of 100 records (one ~6.5 KB JSON-lines file each);
- large files: 8 pushes of 20,000 records (one ~1.3 MB file each).

The writers, taking turns in each round, each into a fresh directory:

- the limit: the raw client with one connection, serialising each batch of dicts to JSON
  lines itself and uploading it the way FtpOutlet does, atomically (ftplib: ``STOR`` to a
  temporary name, then ``RNFR``/``RNTO``; paramiko: ``putfo`` to a temporary name, then
  ``posix_rename``);
- for information, the raw client uploading straight to the final name (not atomic);
- databay: ``FtpOutlet.push`` of records (built before the clock starts), one push per file.

Logging in is inside the timed part for every writer. Every writer's files must come out
byte for byte equal. Medians of 9 rounds, the writers' order rotating from round to round;
client CPU is this process's ``time.process_time()`` (the servers run in processes of their own).

Target: FtpOutlet at least 0.9x the raw atomic upload, for each protocol and workload.
"""

from __future__ import annotations

import ftplib
import io
import json
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, verdict  # noqa: E402

ROUNDS = 9
TARGET = 0.9
WORKLOADS = {"small files": (200, 100), "large files": (8, 20_000)}
PROTOCOLS = ("ftp", "ftps", "sftp")


def make_batches(files: int, records: int) -> list[list[dict]]:
    return [[{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0}
             for i in range(n * records, (n + 1) * records)] for n in range(files)]


def json_lines(batch: list[dict]) -> bytes:
    return ("".join(json.dumps(payload, ensure_ascii=False) + "\n" for payload in batch)).encode()


def raw_ftp(server, directory: str, batches: list[list[dict]], atomic: bool) -> float:
    began = time.perf_counter()
    if server.scheme == "ftps":
        ftp: ftplib.FTP = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=server.options["cacert"]))
    else:
        ftp = ftplib.FTP()
    ftp.connect(server.host, server.port)
    ftp.login("databay", server.password)
    if isinstance(ftp, ftplib.FTP_TLS):
        ftp.prot_p()
    ftp.cwd(directory)
    for number, batch in enumerate(batches):
        data = io.BytesIO(json_lines(batch))
        if atomic:
            ftp.storbinary(f"STOR .{number}.jsonl.part", data)
            ftp.rename(f".{number}.jsonl.part", f"{number}.jsonl")
        else:
            ftp.storbinary(f"STOR {number}.jsonl", data)
    ftp.quit()
    return time.perf_counter() - began


def raw_sftp(server, directory: str, batches: list[list[dict]], atomic: bool) -> float:
    import paramiko

    began = time.perf_counter()
    client = paramiko.SSHClient()
    client.load_host_keys(server.options["known_hosts"])
    client.connect(server.host, server.port, "databay", server.password, allow_agent=False, look_for_keys=False)
    sftp = client.open_sftp()
    sftp.chdir(directory)
    for number, batch in enumerate(batches):
        data = io.BytesIO(json_lines(batch))
        if atomic:
            sftp.putfo(data, f".{number}.jsonl.part")
            sftp.posix_rename(f".{number}.jsonl.part", f"{number}.jsonl")
        else:
            sftp.putfo(data, f"{number}.jsonl")
    client.close()
    return time.perf_counter() - began


def databay_outlet(server, directory: str, batches: list[list[dict]]) -> float:
    from databay import Record
    from databay.update import Update
    from databay_ftp import FtpOutlet

    pushes = [[Record(payload) for payload in batch] for batch in batches]
    updates = [Update(["bench"], number) for number in range(len(batches))]
    outlet = FtpOutlet(server.url_for(directory=directory), password=server.password, filename="{update}.jsonl",
                       **server.options)
    began = time.perf_counter()
    for records, update in zip(pushes, updates):
        outlet.push(records, update)
    outlet.on_shutdown()
    return time.perf_counter() - began


def contents(root: Path, directory: str) -> dict[str, bytes]:
    folder = root / directory.lstrip("/")
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def measure(server, batches: list[list[dict]], label: str) -> dict[str, list[tuple[float, float]]]:
    """``(wall, cpu)`` seconds of each writer in each round."""
    raw = raw_sftp if server.scheme == "sftp" else raw_ftp
    writers: dict[str, Callable[[str], float]] = {
        "raw": lambda d: raw(server, d, batches, True),
        "raw, not atomic": lambda d: raw(server, d, batches, False),
        "databay": lambda d: databay_outlet(server, d, batches),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
    order = list(writers)
    for round_number in range(ROUNDS + 1):  # round 0 warms up
        written = {}
        for name in order[round_number % len(order):] + order[:round_number % len(order)]:
            directory = f"/{label.replace(' ', '-')}-{name.replace(', ', '-').replace(' ', '-')}-{round_number}"
            (server.root / directory.lstrip("/")).mkdir()
            cpu = time.process_time()
            elapsed = writers[name](directory)
            cpu = time.process_time() - cpu
            if round_number:
                results[name].append((elapsed, cpu))
            written[name] = contents(server.root, directory)
        assert written["databay"] == written["raw"] == written["raw, not atomic"], \
            "every writer must upload the same files"
    return results


def main() -> int:
    from databay_ftp.testing import LocalServer

    ok = True
    for label, (files, records) in WORKLOADS.items():
        batches = make_batches(files, records)
        size = sum(len(json_lines(batch)) for batch in batches)
        table = Table(f"FtpOutlet, {label}: {files} uploads of {records:,} records ({size / files / 1024:,.1f} KB "
                      f"each), median of {ROUNDS}",
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
