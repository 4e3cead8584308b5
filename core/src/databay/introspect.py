"""What a component accepts: constructor parameters and metadata keys, for humans and validators."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParameterInfo:
    """One constructor parameter of a component."""

    name: str
    annotation: str | None
    default: Any
    required: bool
    declared_by: str

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


def constructor_parameters(target: Any) -> tuple[list[ParameterInfo], bool]:
    """The keyword-usable parameters of ``target``'s constructor (or of a callable).

    Follows ``*args, **kwargs`` forwarded to base classes (``super().__init__(*args,
    **kwargs)``), so an inlet shows its own parameters and ``metadata``. Returns the
    parameters and whether arbitrary keyword arguments are still accepted.
    """
    owners = [c for c in inspect.getmro(target) if c is not object] if inspect.isclass(target) else [target]
    params: list[ParameterInfo] = []
    seen: set[str] = set()
    for owner in owners:
        function = owner.__init__ if inspect.isclass(target) else owner
        if inspect.isclass(target) and "__init__" not in vars(owner):
            continue
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            return params, True
        forwards = False
        for index, param in enumerate(signature.parameters.values()):
            if inspect.isclass(target) and index == 0:
                continue  # self
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                forwards = forwards or param.kind is param.VAR_KEYWORD
                continue
            if param.kind is param.POSITIONAL_ONLY or param.name in seen:
                continue
            seen.add(param.name)
            params.append(ParameterInfo(
                param.name, _annotation_text(param.annotation), param.default,
                param.default is inspect.Parameter.empty, getattr(owner, "__qualname__", str(owner)),
            ))
        if not forwards:
            return params, False
    return params, True


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
