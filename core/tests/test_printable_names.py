"""databay.printable's helpers that name a value or a pushed record in a message."""

from databay import Record
from databay.printable import describe_record, short_repr


class _BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_short_repr_keeps_short_values_whole():
    assert short_repr({"a": 1}) == "{'a': 1}"
    assert short_repr("x" * 78) == repr("x" * 78)  # 80 characters with the quotes


def test_short_repr_cuts_to_the_width_with_an_ellipsis():
    text = short_repr(list(range(100)))
    assert len(text) == 80 and text.endswith("...") and text.startswith("[0, 1, 2")
    assert short_repr("abcdefghij", width=8) == "'abcd..."


def test_short_repr_names_the_type_when_repr_fails():
    assert short_repr(_BrokenRepr()) == "<_BrokenRepr>"


def test_describe_record_names_index_and_inlet():
    record = Record({"a": 1}, {"__inlet__": "Numbers()"})
    assert describe_record(record, 2) == "record 2 of this push (from Numbers())"
    assert describe_record(Record(1), 0) == "record 0 of this push (no inlet)"


def test_describe_record_names_an_element_of_a_list_payload():
    record = Record([1, 2], {"__inlet__": "Numbers()"})
    assert describe_record(record, 3, 1) == "record 3 of this push (from Numbers()), element 1 of its list payload"
