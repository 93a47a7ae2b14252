"""Parameter checking against the compact spec in ``schema.json``, compiled once at import."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_DATA = json.loads(Path(__file__).with_name("schema.json").read_text(encoding="utf-8"))
METHODS: dict[str, dict[str, Any]] = _DATA["methods"]
TYPES: dict[str, dict[str, Any]] = _DATA["types"]
_INT = re.compile(r"-?\d+\Z")

Conv = Callable[[Any], Any]


class ApiError(Exception):
    """A Bot API error response: HTTP status, description and optional retry_after."""

    def __init__(self, code: int, description: str, retry_after: int | None = None,
                 migrate_to_chat_id: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


class Upload:
    """A file part of a multipart request."""

    __slots__ = ("filename", "content_type", "data")

    def __init__(self, filename: str, content_type: str, data: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.data = data

    def __repr__(self) -> str:
        return f"<Upload {self.filename!r} {len(self.data)} bytes>"


class _Bad(Exception):
    """Internal: a value that does not fit a type."""


def _json(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError as e:
            raise _Bad("can't parse JSON") from e
    return v


def _integer(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and _INT.match(v.strip()):
        return int(v)
    raise _Bad("expected an Integer")


def _float(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError) as e:
        raise _Bad("expected a Float") from e


def _boolean(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).lower()
    if s in ("true", "1"):
        return True
    if s in ("false", "0", ""):
        return False
    raise _Bad("expected a Boolean")


def _string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)  # Telegram coerces numbers to strings
    raise _Bad("expected a String")


def _input_file(v: Any) -> Any:
    if isinstance(v, (str, Upload)):
        return v
    raise _Bad("expected an InputFile or String")


def _chat_id(v: Any) -> int | str:
    if isinstance(v, str) and not _INT.match(v.strip()):
        if v.startswith("@") and len(v) > 1:
            return v
        raise ApiError(400, "Bad Request: chat not found")
    return _integer(v)


_SCALAR: dict[str, Conv] = {
    "Integer": _integer, "Float": _float, "Boolean": _boolean,
    "String": _string, "InputFile": _input_file,
}
_OBJECTS: dict[str, Conv] = {}


def _object(name: str) -> Conv:
    """Converter for an object type: a dict (or JSON string) whose known fields are checked."""
    if name in _OBJECTS:
        return _OBJECTS[name]
    spec = TYPES.get(name)

    def conv(v: Any) -> dict[str, Any]:
        v = _json(v)
        if not isinstance(v, dict):
            raise _Bad(f"expected a {name} object")
        if spec is None:
            return v
        if "subtypes" in spec:  # union: the first member whose required fields are present
            errors = []
            for sub in spec["subtypes"]:
                try:
                    return _object(sub)(v)
                except _Bad as e:
                    errors.append(str(e))
            raise _Bad(f"can't parse {name}: {errors[0] if errors else 'no members'}")
        fields = _FIELDS[name]
        for fname, (fconv, required) in fields.items():
            if fname in v:
                try:
                    v[fname] = fconv(v[fname])
                except _Bad as e:
                    raise _Bad(f'field "{fname}" of {name}: {e}') from None
            elif required:
                raise _Bad(f'{name} must have field "{fname}"')
        return v

    _OBJECTS[name] = conv
    return conv


def _array(item: Conv) -> Conv:
    def conv(v: Any) -> list[Any]:
        v = _json(v)
        if not isinstance(v, list):
            raise _Bad("expected an Array")
        return [item(x) for x in v]

    return conv


def _single(t: str) -> Conv:
    if t.startswith("Array of "):
        return _array(_single(t[len("Array of "):]))
    return _SCALAR.get(t) or _object(t)


def converter(types: list[str], name: str = "") -> Conv:
    """Build a converter for a spec type union (``["Integer", "String"]`` etc.)."""
    if types == ["Integer", "String"] and name.endswith("chat_id"):
        return _chat_id
    if len(types) == 1:
        return _single(types[0])
    if "InputFile" in types and "String" in types:
        return _input_file
    convs = [_single(t) for t in types]

    def union(v: Any) -> Any:
        for c in convs:
            try:
                return c(v)
            except _Bad:
                continue
        raise _Bad("expected " + " or ".join(types))

    return union


_FIELDS: dict[str, dict[str, tuple[Conv, bool]]] = {}
for _n, _t in TYPES.items():
    if "fields" in _t:
        _FIELDS[_n] = {}
for _n, _t in TYPES.items():
    if "fields" in _t:
        _FIELDS[_n].update(
            {f: (converter(ts, f), req) for f, (ts, req) in _t["fields"].items()}
        )


class MethodSpec:
    """A method's canonical name, compiled parameter converters and return types."""

    __slots__ = ("name", "params", "returns")

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.returns: list[str] = spec["returns"]
        self.params = {p: (converter(ts, p), req) for p, (ts, req) in spec["params"].items()}

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Convert raw request values; raise ApiError(400) as Telegram would."""
        out: dict[str, Any] = {}
        for p, (conv, required) in self.params.items():
            v = raw.get(p)
            if v is None or (v == "" and not isinstance(v, Upload)):
                if required:
                    if p == "text" and self.name == "sendMessage":
                        raise ApiError(400, "Bad Request: message text is empty")
                    raise ApiError(400, f'Bad Request: parameter "{p}" is required')
                continue
            try:
                out[p] = conv(v)
            except _Bad as e:
                raise ApiError(400, f'Bad Request: invalid parameter "{p}": {e}') from None
        return out


BY_LOWER: dict[str, MethodSpec] = {n.lower(): MethodSpec(n, s) for n, s in METHODS.items()}
