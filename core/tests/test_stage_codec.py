"""The stage codec treats a stage file as untrusted data: it only builds values of allowed
types, never changes a class, and bounds what it builds (issue 10 item 2)."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import fractions
import io
import pickle
import sqlite3
import uuid
import zoneinfo

import pytest
from databay.errors import StageSerializationError, UndecodableBatchError
from databay.stage import Stage, codec, register_type


class _Forger(pickle.Pickler):
    def reducer_override(self, obj):
        return "_tagged" if obj is codec._tagged else NotImplemented


def forged(payloads, metadata=None) -> bytes:
    """A batch as a hostile file would hold it: whatever plain pickle writes."""
    buffer = io.BytesIO()
    _Forger(buffer, protocol=5).dump((payloads, [{}] * len(payloads) if metadata is None else metadata))
    return buffer.getvalue()


def tagged(name: str, state) -> object:
    """A value pickling as the tagged value ``(name, state)``, whatever its state."""

    class Tagged:
        def __reduce__(self):
            return codec._tagged, (name, state)

    return Tagged()


def build_on(target_global: tuple[str, str], attributes: dict) -> bytes:
    """A batch whose one payload is the global ``target_global`` (a class, say) with
    ``attributes`` set on it by pickle's BUILD opcode."""
    module, name = target_global
    text = pickle.dumps(attributes, protocol=5)[2:-1]  # the dict's opcodes, without PROTO and STOP
    body = (b"\x8c" + bytes([len(module)]) + module.encode() + b"\x8c" + bytes([len(name)]) + name.encode()
            + b"\x93" + b"N" + text + b"\x86" + b"b")  # STACK_GLOBAL, NONE, dict, TUPLE2, BUILD
    return b"\x80\x05" + b"]" + body + b"a" + b"]" + b"}" + b"a" + b"\x86."  # ([payload], [{}])


def test_a_stage_file_cannot_set_attributes_on_an_allowed_class():
    data = build_on(("fractions", "Fraction"), {"__repr__": "pwned", "limit_denominator": 1})
    with pytest.raises(codec.DecodeError, match="it names fractions.Fraction, and a batch names no code"):
        codec.decode(data)
    assert repr(fractions.Fraction(1, 3)) == "Fraction(1, 3)"
    assert "limit_denominator" not in vars(fractions.Fraction) or callable(fractions.Fraction.limit_denominator)


def test_the_one_global_a_batch_names_cannot_be_changed_either():
    data = build_on(("databay.stage.codec", "_tagged"), {"__call__": "pwned", "anything": 1})
    with pytest.raises(codec.DecodeError, match="it is not a batch of records"):
        codec.decode(data)
    assert not hasattr(codec._tagged, "anything")
    assert codec.decode(codec.encode([datetime.date(2024, 1, 2)], [{}]))[0] == [datetime.date(2024, 1, 2)]


def test_a_tampered_stage_file_changes_no_class_when_a_link_reads_it(tmp_path):
    path = tmp_path / "s.stage"
    with Stage(path) as stage:
        stage.commit("t.0", [[]], ["Out"])
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE batches SET records = ?",
                           (build_on(("fractions", "Fraction"), {"__repr__": "pwned"}),))
    with Stage(path) as stage:
        with pytest.raises(UndecodableBatchError, match="batch 1 cannot be decoded"):
            stage.load(1)
    assert repr(fractions.Fraction(1, 3)) == "Fraction(1, 3)"


def test_a_few_hundred_bytes_of_shared_references_are_refused_not_expanded():
    bomb: list = []
    for _ in range(64):
        bomb = [bomb, bomb]  # 2**64 lists when written out, or copied without a memo
    data = forged([bomb])
    assert len(data) < 1000
    with pytest.raises(codec.DecodeError, match=r"would expand to [\d,]+ values or more .* more than a batch may "
                                                r"hold \(20,000,000\)"):
        codec.decode(data)


def test_shared_metadata_counts_once_per_record():
    big = list(range(1_000))
    data = forged([None] * 30_000, {"big": big})  # 30,000 copies of 1,000 values
    with pytest.raises(codec.DecodeError, match="would expand"):
        codec.decode(data)


def test_nesting_is_bounded():
    [payload], _ = codec.decode(_deep_pickle(100))  # 100 levels are fine
    assert payload == eval("[" * 99 + "1" + "]" * 99)
    with pytest.raises(codec.DecodeError, match=f"nested more than {codec.MAX_DEPTH} levels"):
        codec.decode(_deep_pickle(codec.MAX_DEPTH + 10))


def _deep_pickle(depth: int) -> bytes:
    # Written opcode by opcode: pickle itself cannot write it (its recursion limit).
    # ([L1], [{}]) with L1 = [L2], ... Ld = [1]: an outer list, d lists, 1, then d appends.
    return b"\x80\x05]" + b"]" * depth + b"K\x01" + b"a" * depth + b"]}a\x86."


def test_corrupt_data_is_a_decode_error():
    data = codec.encode([{"a": 1}], [{}])
    for broken in (data[:-5], b"", b"\x80\x05garbage", data.replace(b"\x8c\x01a", b"\x8c\x05a")):
        with pytest.raises(codec.DecodeError, match="it is not a batch of records"):
            codec.decode(broken)


def test_a_batch_is_bounded_in_bytes(monkeypatch):
    monkeypatch.setattr(codec, "MAX_BATCH_BYTES", 1000)
    with pytest.raises(StageSerializationError, match=r"is 0 MiB encoded, more than a stage batch may hold .* "
                                                      r"split it with a grouper"):
        codec.encode(["x" * 2000], [{}])
    with pytest.raises(codec.DecodeError, match="more than a batch may be"):
        codec.decode(forged(["x" * 2000]))


def test_an_unregistered_type_name_is_named():
    with pytest.raises(codec.DecodeError, match="a value of type 'myapp:Gone', which is not registered"):
        codec.decode(forged([tagged("myapp:Gone", 1)]))


def test_a_state_its_type_refuses_is_a_decode_error():
    with pytest.raises(codec.DecodeError, match=r"a uuid:UUID cannot be rebuilt .*ValueError"):
        codec.decode(forged([tagged("uuid:UUID", (-1, 0))]))


def test_every_built_in_type_round_trips_exactly():
    tz = datetime.timezone(datetime.timedelta(hours=-3), "BRT")
    values = {
        "datetime": datetime.datetime(2024, 5, 1, 12, 30, 1, 5, tzinfo=tz, fold=1),
        "utc": datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
        "zone": datetime.datetime(2024, 5, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        "date": datetime.date(2024, 5, 1), "time": datetime.time(1, 2, 3, 4, tzinfo=tz),
        "delta": datetime.timedelta(days=-1, seconds=5, microseconds=7),
        "fraction": fractions.Fraction(-2, 6), "ordered": collections.OrderedDict([("b", 1), ("a", [2])]),
        "complex": complex(1.5, -0.0), "uuid": uuid.uuid4(), "bytearray": bytearray(b"\x00x"),
        datetime.date(2020, 1, 1): "a date as a key", (1, datetime.date(2021, 1, 1)): "in a tuple key",
        "frozen": frozenset({datetime.date(2022, 1, 1)}), "set": {fractions.Fraction(1, 2)},
    }
    [decoded], [metadata] = codec.decode(codec.encode([values], [{"at": values["datetime"]}]))
    assert decoded == values and metadata == {"at": values["datetime"]}
    for key, value in values.items():
        assert type(decoded[key]) is type(value), key
    assert decoded["utc"].tzinfo is datetime.UTC
    assert decoded["zone"].tzinfo is zoneinfo.ZoneInfo("Europe/Paris")
    assert decoded["datetime"].tzinfo.tzname(None) == "BRT" and decoded["datetime"].fold == 1
    assert str(decoded["complex"]) == "(1.5-0j)" and decoded["uuid"].is_safe == values["uuid"].is_safe


def test_shared_references_and_cycles_come_back_shared():
    shared = {"k": [1, 2]}
    cycle: list = [datetime.date(2024, 1, 1)]
    cycle.append(cycle)
    [a, b, c], _ = codec.decode(codec.encode([shared, shared, cycle], [{}, {}, {}]))
    assert a is b and a == shared
    assert c[1] is c and c[0] == datetime.date(2024, 1, 1)


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    when: datetime.date


class Celsius:
    """A value type with its own functions."""

    def __init__(self, degrees: float):
        if degrees < -273.15:
            raise ValueError("below absolute zero")
        self.degrees = degrees

    def __eq__(self, other):
        return isinstance(other, Celsius) and other.degrees == self.degrees


class Shared:
    """A class whose ``__new__`` hands out one instance."""

    one: Shared | None = None

    def __new__(cls):
        if cls.one is None:
            cls.one = super().__new__(cls)
        return cls.one


@pytest.fixture
def registered():
    kinds = []

    def register(kind, **options):
        register_type(kind, **options)
        kinds.append(kind)
        return kind

    yield register
    for kind in kinds:
        codec._forget_type(kind)


def test_a_dataclass_registered_without_functions_round_trips(registered):
    registered(Point)
    [point], _ = codec.decode(codec.encode([Point(1, datetime.date(2024, 1, 1))], [{}]))
    assert point == Point(1, datetime.date(2024, 1, 1)) and type(point) is Point


def test_a_type_registered_with_functions_is_rebuilt_by_them(registered):
    registered(Celsius, encode=lambda c: c.degrees, decode=Celsius, name="weather:Celsius")
    [value], _ = codec.decode(codec.encode([Celsius(21.5)], [{}]))
    assert value == Celsius(21.5)
    with pytest.raises(codec.DecodeError, match=r"a weather:Celsius cannot be rebuilt .*below absolute zero"):
        codec.decode(forged([tagged("weather:Celsius", -300.0)]))


def test_a_class_with_its_own_new_is_never_given_a_state_by_default(registered):
    registered(Shared)
    Shared().flag = "original"
    name = f"{Shared.__module__}:{Shared.__qualname__}"
    state = ("new", (), {}, {"flag": "changed by the file"}, None, None)
    with pytest.raises(codec.DecodeError, match="has its own __new__: register it with encode= and decode="):
        codec.decode(forged([tagged(name, state)]))
    assert Shared().flag == "original"


def test_register_type_checks_its_arguments(registered):
    with pytest.raises(TypeError, match="takes a class"):
        register_type(Point(1, datetime.date.today()))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="give both encode= and decode="):
        register_type(Celsius, encode=str)
    registered(Celsius, encode=lambda c: c.degrees, decode=Celsius, name="weather:Celsius")
    with pytest.raises(ValueError, match="the name 'weather:Celsius' is already used"):
        register_type(Point, name="weather:Celsius")


def test_a_value_whose_encode_fails_is_refused_at_the_transfer(registered):
    def fail(value):
        raise RuntimeError("cannot")

    registered(Celsius, encode=fail, decode=Celsius)
    with pytest.raises(StageSerializationError,
                       match=r"record 0 cannot be staged: payload\['t'\] is a .*Celsius, registered but its "
                             r"encode\(\) raised RuntimeError: cannot"):
        codec.encode([{"t": Celsius(1)}], [{}])


def test_a_value_of_a_class_that_pickles_otherwise_is_refused_with_the_remedy():
    register_type(zoneinfo.ZoneInfo)  # without functions: ZoneInfo pickles through ZoneInfo._unpickle
    try:
        with pytest.raises(StageSerializationError, match="pickles through ZoneInfo._unpickle"):
            codec.encode([zoneinfo.ZoneInfo("UTC")], [{}])
    finally:
        codec._register_builtins()
