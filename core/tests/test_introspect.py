"""introspect: constructor parameters, metadata keys and summaries of components."""

from __future__ import annotations

from typing import Any

from databay import Inlet, Outlet
from databay.inlets.random_int_inlet import RandomIntInlet
from databay.introspect import ParameterInfo, constructor_parameters, metadata_keys, summary
from databay.outlet import MetadataKey
from databay.outlets.file_outlet import FileOutlet
from databay.planners.schedule_planner import SchedulePlanner


def as_tuples(params):
    return [(p.name, p.annotation, p.default, p.required, p.declared_by) for p in params]


def test_inlet_parameters_follow_kwargs_to_the_base_class():
    params, more = constructor_parameters(RandomIntInlet)
    assert as_tuples(params) == [
        ("min", "int", 0, False, "RandomIntInlet"),
        ("max", "int", 100, False, "RandomIntInlet"),
        ("metadata", "dict | None", None, False, "Inlet"),
        ("retry", "RetryPolicy | dict | None", None, False, "Inlet"),
    ]
    assert more is False


def test_outlet_parameters():
    params, more = constructor_parameters(FileOutlet)
    assert [(p.name, p.default, p.declared_by) for p in params] == [
        ("default_filepath", "outputs/default_output.txt", "FileOutlet"),
        ("default_file_mode", "a", "FileOutlet"),
        ("default_encoding", "utf-8", "FileOutlet"),
        ("processors", None, "Outlet"),
        ("retry", None, "Outlet"),
    ]
    assert more is False


def test_planner_parameters():
    params, more = constructor_parameters(SchedulePlanner)
    assert [p.name for p in params] == ["links", "threads", "refresh_interval", "ignore_exceptions",
                                        "catch_exceptions", "immediate_transfer", "shutdown_at_exit"]
    assert [p.default for p in params][1:3] == [30, 1.0]
    assert more is False


def test_required_parameters_and_open_kwargs():
    class Open(Outlet):
        def __init__(self, url: str, **options):
            super().__init__()
            self.options = options

        def push(self, records, update):
            pass

    params, more = constructor_parameters(Open)
    assert as_tuples(params)[0][:4] == ("url", "str", params[0].default, True)
    assert [p.name for p in params] == ["url", "processors", "retry"]
    # **kwargs are taken to be forwarded to the base class, and Outlet accepts no more.
    assert more is False

    def processor(records, **options):
        return records

    assert constructor_parameters(processor)[1] is True


def test_parameters_of_a_function():
    def only_large(records, threshold: int = 100):
        return records

    params, more = constructor_parameters(only_large)
    assert as_tuples(params) == [("records", None, params[0].default, True, "test_parameters_of_a_function"
                                  ".<locals>.only_large"), ("threshold", "int", 100, False,
                                  "test_parameters_of_a_function.<locals>.only_large")]
    assert more is False


def test_hints_are_evaluated_and_looked_for_up_the_mro():
    class Base(Outlet):
        def __init__(self, path: str, size: int = 1, mode: Unknown = "a", **kwargs):  # noqa: F821
            super().__init__(**kwargs)

        def push(self, records, update):
            pass

    class Child(Base):
        def __init__(self, path="out.txt", size: float = 2.0, mode: NotImportedHere = "w", **kwargs):  # noqa: F821
            super().__init__(path, size, mode, **kwargs)

    hints = {p.name: p.hint for p in constructor_parameters(Child)[0]}
    # path: unannotated in Child, Base's hint; size: Child's own; mode: neither evaluates.
    assert (hints["path"], hints["size"], hints["mode"]) == (str, float, Any)
    assert [p.declared_by.rsplit(".", 1)[-1] for p in constructor_parameters(Child)[0]][:3] == ["Child"] * 3


def test_parameter_info_as_dict():
    required = ParameterInfo("url", "str", object(), True, "X")
    assert required.as_dict() == {"name": "url", "type": "str", "default": None, "required": True,
                                  "declared_by": "X"}
    odd_default = ParameterInfo("mode", None, {"a": 1}, False, "X")
    assert odd_default.as_dict()["default"] == "{'a': 1}"
    assert ParameterInfo("n", "int", 3, False, "X").as_dict()["default"] == 3


def test_metadata_keys_follow_the_class_dot_key_convention():
    assert metadata_keys(FileOutlet) == {
        "FILEPATH": "FileOutlet.FILEPATH",
        "FILE_MODE": "FileOutlet.FILE_MODE",
        "FILE_ENCODING": "FileOutlet.FILE_ENCODING",
    }


def test_metadata_keys_are_inherited_and_others_ignored():
    class CsvOutlet(Outlet):
        CSV_FILE: MetadataKey = "CsvOutlet.CSV_FILE"
        NOT_A_KEY = "CSV_FILE"
        lower: MetadataKey = "CsvOutlet.lower"

        def push(self, records, update):
            pass

    class TsvOutlet(CsvOutlet):
        DELIMITER: MetadataKey = "TsvOutlet.DELIMITER"

    assert metadata_keys(TsvOutlet) == {"CSV_FILE": "CsvOutlet.CSV_FILE", "DELIMITER": "TsvOutlet.DELIMITER"}
    assert metadata_keys(lambda records: records) == {}


def test_summary_is_the_first_docstring_paragraph():
    assert summary(RandomIntInlet) == "Inlet that will generate a random integer within the specified range."

    class Undocumented(Inlet):
        def pull(self, update):
            return []

    assert summary(Undocumented) == summary(Inlet)
