"""databay.errors: the documented exceptions and their bases."""

import pytest
from databay import errors


@pytest.mark.parametrize("name", ["MissingLinkError", "ImplementationError", "InvalidNodeError"])
def test_documented_errors_are_runtime_errors(name):
    exc_type = getattr(errors, name)
    assert issubclass(exc_type, RuntimeError)
    with pytest.raises(exc_type, match="^boom$"):
        raise exc_type("boom")


def test_plugin_errors():
    assert issubclass(errors.PluginError, RuntimeError)
    assert issubclass(errors.ComponentNotFoundError, errors.PluginError)
    assert issubclass(errors.ComponentNotFoundError, LookupError)
    assert issubclass(errors.AmbiguousComponentError, errors.PluginError)
    assert issubclass(errors.AmbiguousComponentError, LookupError)


def test_docstrings_say_what_each_error_means():
    assert errors.MissingLinkError.__doc__ == "Raised when providing a link that isn't stored in planner."
    assert errors.ImplementationError.__doc__ == "Raised when concrete implementation is incorrect."
    assert errors.InvalidNodeError.__doc__ == "Raised when invalid node (inlet or outlet) is provided."
