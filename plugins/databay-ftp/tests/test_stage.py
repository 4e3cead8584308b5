"""FtpOutlet and FtpInlet on staged links: stable names per batch (``{time}`` and ``{update}``
those of the batch's commit), so a redelivery replaces its first copy; the inlet's position
committed with the records it produced."""

from __future__ import annotations

import json
import logging
import re

import pytest
from databay import Inlet, Link
from databay.stage import SqliteStage, Stage
from databay.testing import CollectingOutlet, LosesTheAnswer, SequenceInlet
from databay_ftp import FtpInlet, FtpOutlet


class LosingFtpOutlet(LosesTheAnswer, FtpOutlet):
    """Uploads, then fails as if the connection dropped before the server's answer arrived."""


def numbers_in(files: dict[str, bytes]) -> list[int]:
    return sorted(json.loads(line)["n"] for content in files.values() for line in content.splitlines())


def transfer_once(inlet, outlet, stage, **settings) -> None:
    """One transfer of a new link on ``stage``, then its shutdown: a process that runs once."""
    link = Link(inlet, outlet, interval=1, stage=stage, **settings)
    link.transfer()
    link.on_shutdown()


@pytest.mark.parametrize("filename", [
    "{tags}-{time}-{uuid}.{ext}",  # the default
    "{time:%Y/%m/%d}/{time:%H%M%S.%f}-{update:04d}.jsonl",  # the commit's time and transfer alone
    "{tags}-{uuid}.{ext}", "{batch}.jsonl", "{tags}/{batch}/{uuid}.jsonl",
])
def test_a_redelivered_batch_replaces_its_first_copy(remote, tmp_path, filename, caplog):
    outlet = LosingFtpOutlet(remote.url, filename=filename, **remote.components_kwargs())
    link = Link(SequenceInlet(), outlet, interval=1, tags="numbers", stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()  # uploaded, but the outlet failed: the batch stays pending
    assert [b.batches for b in link.stage.backlog()] == [1]
    [first_name] = remote.files()
    with caplog.at_level(logging.WARNING, logger="databay.FtpOutlet"):
        link.transfer()  # batch 1 again (same name), then batch 2
    link.on_shutdown()
    files = remote.files()
    assert len(files) == 2 and first_name in files and numbers_in(files) == list(range(6))
    assert [r.getMessage() for r in caplog.records if r.name == "databay.FtpOutlet"] == []
    if "{batch}" in filename:
        uid = link.stage.uid
        assert any(f"{uid}-1" in name for name in files) and any(f"{uid}-2" in name for name in files)


def test_without_a_stage_a_retried_push_writes_again(remote):
    outlet = LosingFtpOutlet(remote.url, filename="{uuid}.jsonl", **remote.components_kwargs())
    link = Link(SequenceInlet(), outlet, interval=1, ignore_exceptions=True)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert len(remote.files()) == 2  # nothing says the second push held the first push's records


def test_bytes_records_get_stable_names_each(remote, tmp_path):
    class Blobs(Inlet):
        def pull(self, update):
            return [b"one", b"two"]

    outlet = LosingFtpOutlet(remote.url, filename="{uuid}.bin", format="bytes", **remote.components_kwargs())
    link = Link(Blobs(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert sorted(remote.files().values()) == [b"one", b"one", b"two", b"two"]  # two batches, no third copy


def test_time_and_update_in_a_name_are_those_of_the_batch_commit(remote, tmp_path):
    outlet = LosingFtpOutlet(remote.url, filename="{time:%Y%m%dT%H%M%S.%f}-{update}.jsonl", losses=2,
                            **remote.components_kwargs())
    stage = tmp_path / "s.stage"
    link = Link(SequenceInlet(), outlet, interval=1, tags="numbers", stage=stage, ignore_exceptions=True)
    link.transfer()
    link.transfer()  # batch 1 again (failing again), batch 2 waits behind it
    link.on_shutdown()
    stamps = [(r.metadata[Stage.BATCH_TIME], r.metadata[Stage.BATCH_UPDATE])
              for r in (SqliteStage(stage).open().read(batch)[0] for batch in (1, 2))]
    names = [f"{when:%Y%m%dT%H%M%S.%f}-{update.rpartition('.')[2]}.jsonl" for when, update in stamps]
    assert [update for _, update in stamps] == ["numbers.0", "numbers.1"]
    assert list(remote.files()) == names[:1]
    # A new process: transfers are numbered from 0 again; the batches keep their names.
    transfer_once(SequenceInlet(), LosingFtpOutlet(remote.url, filename="{time:%Y%m%dT%H%M%S.%f}-{update}.jsonl",
                                                   losses=0, **remote.components_kwargs()), stage, tags="numbers")
    files = remote.files()
    assert len(files) == 3 and set(names) < set(files)


def test_batch_needs_a_stage(remote):
    outlet = FtpOutlet(remote.url, filename="{batch}.jsonl", **remote.components_kwargs())
    with pytest.raises(ValueError, match=r"uses \{batch\}, and records only have a batch on a link with a stage"):
        Link(SequenceInlet(), outlet, interval=1).transfer()
    assert remote.files() == {}


def test_the_inlet_position_is_committed_with_its_records(remote, tmp_path):
    stage = tmp_path / "s.stage"
    remote.write("a.jsonl", b'{"n": 1}\n')
    keep = CollectingOutlet()
    transfer_once(FtpInlet(remote.url, "*.jsonl", "jsonl", **remote.components_kwargs()), keep, stage)
    assert list(Stage(stage).open().inlet_states()["FtpInlet"]["files"]) == ["a.jsonl"]
    remote.write("b.jsonl", b'{"n": 2}\n')
    keep2 = CollectingOutlet()
    transfer_once(FtpInlet(remote.url, "*.jsonl", "jsonl", **remote.components_kwargs()), keep2, stage)
    assert (keep.payloads, keep2.payloads) == ([{"n": 1}], [{"n": 2}])


def test_files_pulled_but_never_committed_are_read_again(remote, tmp_path):
    stage = tmp_path / "s.stage"
    remote.write("a.bin", b"A")
    transfer_once(FtpInlet(remote.url, **remote.components_kwargs()), CollectingOutlet(), stage)
    remote.write("b.bin", b"B")
    crashed = FtpInlet(remote.url, **remote.components_kwargs())  # pulled b.bin, then died before committing
    crashed.set_state(Stage(stage).open().inlet_states()["FtpInlet"])
    assert [r.payload for r in crashed.pull(None)] == [b"B"]
    crashed.on_shutdown()
    keep = CollectingOutlet()
    transfer_once(FtpInlet(remote.url, **remote.components_kwargs()), keep, stage)
    assert keep.payloads == [b"B"]


class Killed(BaseException):
    """Stands for SIGKILL: nothing of the process's cleanup runs."""


def test_a_temporary_file_left_by_a_crash_is_replaced_by_the_redelivery(remote, monkeypatch, update):
    """Killed between the upload to the temporary name and the rename: the redelivered batch
    uploads to the same temporary name and renames it, so nothing is left behind."""
    from databay import Record
    from databay_ftp.remote import RemoteSession

    batch = [Record({"n": n}, {Stage.BATCH_ID: "abc:7", Stage.RECORD_ID: f"abc:7:{n}"}) for n in range(3)]
    original = RemoteSession.put_atomically

    def killed_before_rename(session, name, data, token):
        session.upload(f".{name}.{token}.part", data)
        raise Killed()

    monkeypatch.setattr(RemoteSession, "put_atomically", killed_before_rename)
    outlet = FtpOutlet(remote.url, filename="{batch}.jsonl", **remote.components_kwargs())
    with pytest.raises(Killed):
        outlet.push(batch, update)
    with remote.client() as client:
        [left] = client.names()
    assert re.fullmatch(r"\.abc-7\.jsonl\.[0-9a-f]{16}\.part", left)
    monkeypatch.setattr(RemoteSession, "put_atomically", original)
    restarted = FtpOutlet(remote.url, filename="{batch}.jsonl", **remote.components_kwargs())
    restarted.push(batch, update)
    restarted.on_shutdown()
    outlet.on_shutdown()
    assert remote.files() == {"abc-7.jsonl": b'{"n": 0}\n{"n": 1}\n{"n": 2}\n'}



def test_a_batch_update_that_is_no_transfer_is_refused_naming_the_record(remote, update):
    from databay import Record

    outlet = FtpOutlet(remote.url, filename="{update}.jsonl", **remote.components_kwargs())
    batch = [Record({"n": 1}, {Stage.BATCH_ID: "abc:7", Stage.BATCH_UPDATE: "todos"})]
    with pytest.raises(ValueError, match=r"cannot name the file of record 0 of this push \(no inlet\): its "
                                         r"metadata\['Stage.BATCH_UPDATE'\] 'todos' is not the text of an update"):
        outlet.push(batch, update)
    outlet.on_shutdown()
    assert remote.files() == {}
