"""Configuration files: TOML read into typed structs, with errors that name file and key.

A config file is validated whole at load time: an unknown key, a wrong type or an
impossible value (a negative size, leverage below 1, ...) is a :class:`ConfigError` that
says which file, which key, and what is expected. Nothing is half-loaded. TOML's ``inf``
and ``nan`` are refused wherever they are: no setting means either, and a ``nan``
compares false with everything, so it would silently turn a check off.

msgspec decides what is valid. Its ``ValidationError`` carries the place of a problem
only inside its message text, so when a conversion fails, :func:`convert` finds the
problem again itself: it walks the data against the struct's fields
(``msgspec.structs.fields``), asking msgspec about each part in turn, down to the
smallest part msgspec refuses, and says what that part should be from its type
(``msgspec.inspect``).
"""

from __future__ import annotations

import datetime
import enum
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from msgspec import inspect

T = TypeVar("T")


class ConfigError(Exception):
    """A configuration file is missing, not TOML, or does not fit its schema."""


class Mismatch(ValueError):
    """Data does not fit the type it was converted to.

    ``key`` is where, as a TOML key (``strategy.spot_fee``, ``sim.symbols[0].symbol``;
    empty for the whole); ``problem`` is what is wrong there.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class UnknownKey(Mismatch):
    def __init__(self, key: str) -> None:
        ValueError.__init__(self, f"unknown key {key!r}: check its spelling, or remove it")
        self.key = key
        self.problem = "unknown key"


class MissingKey(Mismatch):
    def __init__(self, key: str) -> None:
        ValueError.__init__(self, f"missing required key {key!r}")
        self.key = key
        self.problem = "missing required key"


def load_config(path: str | Path, kind: type[T]) -> T:
    """Read ``path`` as TOML into ``kind``; any problem is a :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; give the path of a TOML config (configs/ has examples)"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read it ({error.strerror}); give the path of a TOML config file"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason}); save it as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        _refuse_non_finite(raw, "")
        config = convert(raw, kind)
        _refuse_unknown(raw, kind, "")
        return config
    except Mismatch as error:
        raise ConfigError(f"{path}: {error}") from None


def _refuse_non_finite(value: Any, key: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise Mismatch(key, f"expected a finite number, got {value!r}")
    if isinstance(value, dict):
        for name, item in value.items():
            _refuse_non_finite(item, _child(key, str(name)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_non_finite(item, f"{key}[{index}]")


def _refuse_unknown(value: Any, annotation: Any, key: str) -> None:
    """An :class:`UnknownKey` for a key in a table whose struct does not refuse unknown
    fields itself (the domain model's, such as ``VenueRules``, read from the wire too): in
    a config file a misspelled key is a mistake wherever it is. ``value`` has converted."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if not isinstance(value, dict):
            return
        fields = {field.encode_name: field for field in msgspec.structs.fields(annotation)}
        tag = annotation.__struct_config__.tag_field
        for name, item in value.items():
            field = fields.get(name)
            if field is None and name != tag:
                raise UnknownKey(_child(key, name))
            if field is not None:
                _refuse_unknown(item, field.type, _child(key, name))
    elif origin in (typing.Union, types.UnionType):
        alternatives = [a for a in arguments if a is not types.NoneType]
        if len(alternatives) == 1:
            _refuse_unknown(value, alternatives[0], key)
    elif origin in (list, tuple, set, frozenset) and isinstance(value, list) and arguments:
        fixed = origin is tuple and arguments[-1] is not Ellipsis
        for index, item in enumerate(value):
            inner = arguments[index] if fixed and index < len(arguments) else arguments[0]
            _refuse_unknown(item, inner, f"{key}[{index}]")
    elif origin is dict and isinstance(value, dict) and arguments:
        for name, item in value.items():
            _refuse_unknown(item, arguments[1], _child(key, str(name)))


def convert(raw: Any, kind: type[T]) -> T:
    """``msgspec.convert(raw, kind)``, or a :class:`Mismatch` naming the first key whose
    value msgspec refuses (:class:`UnknownKey`, :class:`MissingKey` for those two)."""
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as error:
        raise _mismatch(raw, kind, "", error) from None


def _first_mismatch(value: Any, annotation: Any, key: str) -> Mismatch | None:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as error:
        return _mismatch(value, annotation, key, error)
    return None


def _mismatch(value: Any, annotation: Any, key: str, error: msgspec.ValidationError) -> Mismatch:
    """Where inside ``value`` msgspec's refusal (``error``) of it as ``annotation`` lies."""
    bare = annotation
    while typing.get_origin(bare) is typing.Annotated:
        bare = typing.get_args(bare)[0]
    origin = typing.get_origin(bare)
    arguments = typing.get_args(bare)
    if isinstance(bare, type) and issubclass(bare, msgspec.Struct) and isinstance(value, dict):
        return _struct_mismatch(value, bare, key, error)
    if origin in (typing.Union, types.UnionType) and value is not None:
        alternatives = [a for a in arguments if a is not types.NoneType]
        if len(alternatives) == 1:
            return _first_mismatch(value, alternatives[0], key) or _leaf(value, annotation, key)
    if origin in (list, tuple, set, frozenset) and isinstance(value, list):
        if origin is tuple and arguments and arguments[-1] is not Ellipsis:
            items = list(zip(value, arguments, strict=False))
        else:
            items = [(item, arguments[0] if arguments else Any) for item in value]
        for index, (item, item_annotation) in enumerate(items):
            found = _first_mismatch(item, item_annotation, f"{key}[{index}]")
            if found is not None:
                return found
    if origin is dict and isinstance(value, dict) and arguments:
        key_annotation, value_annotation = arguments
        for name, item in value.items():
            inner = _child(key, str(name))
            found = _first_mismatch(name, key_annotation, inner)
            if found is not None:
                return Mismatch(inner, f"not a valid key: {found.problem}")
            found = _first_mismatch(item, value_annotation, inner)
            if found is not None:
                return found
    return _leaf(value, annotation, key)


def _struct_mismatch(
    data: dict[str, Any], kind: type[msgspec.Struct], key: str, error: msgspec.ValidationError
) -> Mismatch:
    """As msgspec reads a table: its keys in order, then the required ones it lacks, then
    the struct's own check of the whole (``__post_init__``)."""
    fields = {field.encode_name: field for field in msgspec.structs.fields(kind)}
    config = kind.__struct_config__
    for name, item in data.items():
        field = fields.get(name)
        if field is None:
            if config.forbid_unknown_fields and name != config.tag_field:
                return UnknownKey(_child(key, name))
            continue
        found = _first_mismatch(item, field.type, _child(key, name))
        if found is not None:
            return found
    for name, field in fields.items():
        if field.required and name not in data:
            return MissingKey(_child(key, name))
    # Every key fits on its own: the struct refused the whole, and says why.
    if error.__cause__ is not None:
        return Mismatch(key, str(error.__cause__))
    return Mismatch(key, f"is not a valid {kind.__name__}")


def _child(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


# ------------------------------------------------------------------- phrasing

_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _leaf(value: Any, annotation: Any, key: str) -> Mismatch:
    """What ``value`` should have been, where msgspec refused it whole."""
    info = inspect.type_info(annotation)
    while isinstance(info, inspect.Metadata):
        info = info.type
    if isinstance(info, (inspect.FloatType, inspect.IntType)) and _is_a(value, info):
        noun = _noun(info)
        for name, symbol in _BOUNDS:
            bound = getattr(info, name)
            if bound is not None and not _within(value, name, bound):
                return Mismatch(key, f"expected {noun} {symbol} {bound!r}, got {value!r}")
        if info.multiple_of is not None:
            return Mismatch(key, f"expected a multiple of {info.multiple_of!r}, got {value!r}")
    if isinstance(info, (inspect.LiteralType, inspect.EnumType)):
        choices = _choices(info)
        if any(type(choice) is type(value) for choice in choices):
            listed = ", ".join(repr(choice) for choice in choices)
            return Mismatch(key, f"invalid enum value {value!r}; use one of {listed}")
    if isinstance(info, (inspect.StrType, inspect.CollectionType, inspect.DictType)) and _is_a(
        value, info
    ):
        return Mismatch(key, f"expected {_noun(info)}{_length_rule(info)}, got {value!r}")
    return Mismatch(key, f"expected {_noun(info)}, got {_kind_of(value)}")


def _within(value: float, name: str, bound: float) -> bool:
    if name == "gt":
        return value > bound
    if name == "ge":
        return value >= bound
    if name == "lt":
        return value < bound
    return value <= bound


def _is_a(value: Any, info: inspect.Type) -> bool:
    """``value`` is of the kind ``info`` wants (its constraints aside)."""
    if isinstance(value, bool):
        return isinstance(info, inspect.BoolType)
    if isinstance(info, inspect.FloatType):
        return isinstance(value, (int, float))
    if isinstance(info, inspect.IntType):
        return isinstance(value, int)
    if isinstance(info, inspect.StrType):
        return isinstance(value, str)
    if isinstance(info, inspect.CollectionType):
        return isinstance(value, list)
    if isinstance(info, inspect.DictType):
        return isinstance(value, dict)
    return False


def _length_rule(info: Any) -> str:
    rules = []
    if info.min_length is not None:
        rules.append(f"at least {info.min_length} long")
    if info.max_length is not None:
        rules.append(f"at most {info.max_length} long")
    if getattr(info, "pattern", None) is not None:
        rules.append(f"matching {info.pattern!r}")
    return " " + " and ".join(rules) if rules else ""


def _choices(info: inspect.LiteralType | inspect.EnumType) -> list[Any]:
    if isinstance(info, inspect.LiteralType):
        return list(info.values)
    members: type[enum.Enum] = info.cls
    return [member.value for member in members]


def _noun(info: inspect.Type) -> str:
    """The kind of TOML value ``info`` takes, in words."""
    match info:
        case inspect.FloatType():
            return "a number"
        case inspect.IntType():
            return "a whole number"
        case inspect.StrType():
            return "a string"
        case inspect.BoolType():
            return "true or false"
        case inspect.NoneType():
            return "nothing"
        case inspect.CollectionType():
            return "a list"
        case (
            inspect.DictType()
            | inspect.StructType()
            | inspect.TypedDictType()
            | inspect.DataclassType()
        ):
            return "a table"
        case inspect.LiteralType() | inspect.EnumType():
            return "one of " + ", ".join(repr(choice) for choice in _choices(info))
        case inspect.UnionType():
            return " or ".join(_noun(alternative) for alternative in info.types)
        case inspect.Metadata():
            return _noun(info.type)
        case inspect.DateTimeType():
            return "a date-time"
        case inspect.DateType():
            return "a date"
        case inspect.TimeType():
            return "a time"
        case _:
            return f"a {type(info).__name__.removesuffix('Type').lower()}"


def _kind_of(value: Any) -> str:
    """The kind of a value as read from TOML (or JSON), in words."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "nothing"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, datetime.time):
        return "a time"
    return f"a {type(value).__name__}"
