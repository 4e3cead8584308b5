"""What a component accepts: constructor parameters and metadata keys, for humans and validators."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParameterInfo:
    """One constructor parameter of a component."""

    name: str
    annotation: str | None
    default: Any
    required: bool
    declared_by: str
    hint: Any = field(default=Any, compare=False, repr=False)
    """The annotation evaluated, for checking values: ``Any`` when none can be evaluated."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.annotation,
            "default": None if self.required else _jsonable(self.default),
            "required": self.required,
            "declared_by": self.declared_by,
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _annotation_text(annotation: Any) -> str | None:
    if annotation is inspect.Parameter.empty:
        return None
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _constructors(target: Any) -> Iterator[tuple[Any, inspect.Signature | None]]:
    """``(function, signature)`` of each constructor that takes part in building ``target``.

    A class's own ``__init__`` first, then, while one forwards ``**kwargs``, the next
    ``__init__`` along the MRO. A signature that cannot be read comes as ``None`` (and ends
    the walk: nothing more is known).
    """
    if not inspect.isclass(target):
        functions = [target]
    else:
        functions = [vars(c)["__init__"] for c in inspect.getmro(target)
                     if c is not object and "__init__" in vars(c)]
    for function in functions:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            yield function, None
            return
        yield function, signature
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            return


def _keyword_parameters(target: Any, signature: inspect.Signature) -> list[inspect.Parameter]:
    """The parameters of ``signature`` that can be given by keyword (without ``self``)."""
    params = list(signature.parameters.values())
    if inspect.isclass(target):
        params = params[1:]
    return [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def constructor_parameters(target: Any) -> tuple[list[ParameterInfo], bool]:
    """The keyword-usable parameters of ``target``'s constructor (or of a callable).

    Follows ``*args, **kwargs`` forwarded to base classes (``super().__init__(*args,
    **kwargs)``), so an inlet shows its own parameters and ``metadata``. Returns the
    parameters and whether arbitrary keyword arguments are still accepted.
    """
    declared: dict[str, list[tuple[Any, inspect.Parameter]]] = {}
    open_kwargs = True
    for function, signature in _constructors(target):
        if signature is None:  # nothing more is known: take any keyword as accepted
            break
        for param in _keyword_parameters(target, signature):
            declared.setdefault(param.name, []).append((function, param))
        open_kwargs = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    params = []
    for name, declarations in declared.items():
        function, param = declarations[0]  # the first along the MRO: the one called
        owner = function.__qualname__.rsplit(".", 1)[0] if inspect.isclass(target) else function.__qualname__
        params.append(ParameterInfo(
            name, _annotation_text(param.annotation), param.default,
            param.default is inspect.Parameter.empty, owner, _hint(declarations),
        ))
    return params, open_kwargs


def _hint(declarations: list[tuple[Any, inspect.Parameter]]) -> Any:
    """The first of a parameter's annotations along the MRO that can be evaluated, else ``Any``.

    String annotations (``from __future__ import annotations``) are evaluated in their
    function's module. One that cannot be evaluated (a name imported only for type
    checkers, a typo) is passed over rather than guessed.
    """
    for function, param in declarations:
        if param.annotation is inspect.Parameter.empty:
            continue
        if not isinstance(param.annotation, str):
            return param.annotation
        namespace = getattr(inspect.unwrap(function), "__globals__", {})
        try:
            return typing.get_type_hints(_Annotated(param.annotation), namespace)["value"]
        except Exception:  # noqa: BLE001 - any failure means "unknown", never an error
            continue
    return Any


class _Annotated:
    """An object with one string annotation, for :func:`typing.get_type_hints`."""

    def __init__(self, annotation: str):
        self.__annotations__ = {"value": annotation}


def metadata_keys(target: Any) -> dict[str, str]:
    """``{attribute: key}`` for the metadata keys an outlet (or inlet) class documents.

    A metadata key is a class attribute whose value is a string ``'ClassName.KEY'``
    (the convention of the manual, typed ``MetadataKey``).
    """
    if not inspect.isclass(target):
        return {}
    keys: dict[str, str] = {}
    for owner in reversed(inspect.getmro(target)):
        for attr, value in vars(owner).items():
            if attr.isupper() and isinstance(value, str) and value.startswith(f"{owner.__name__}."):
                keys[attr] = value
    return keys


def summary(target: Any) -> str:
    """The first paragraph of ``target``'s docstring."""
    doc = inspect.getdoc(target) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()
