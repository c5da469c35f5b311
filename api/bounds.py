"""Bounds on what any HTTP request may carry, checked once before a view runs
(`config.middleware.InputBoundsMiddleware`), so that no view, serializer or query ever
sees an oversized body, a JSON document nested 100,000 deep, a non-finite number or a NUL
character (which PostgreSQL refuses in text, as a server error).

- body: at most `settings.CATALOG_MAX_REQUEST_BYTES` (413);
- JSON bodies: valid JSON (NaN, Infinity and numbers beyond a double are refused), nested
  at most MAX_JSON_DEPTH levels, no NUL in any key or string;
- query strings and form bodies: at most `DATA_UPLOAD_MAX_NUMBER_FIELDS` fields, each value
  at most QUERY_VALUE_MAX characters, no NUL;
- the URL path, header values and cookies: no NUL.

Each failure names the field at fault (`filters.tag[0]`, `scene_id`, `page_size`, ...).
The checks of a value's meaning (ranges, lengths of ids) stay with the code that reads it:
`catalog.filters`, `embeddings.search.request`, the serializers and `api.pagination`.
"""

import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.urls import Resolver404, resolve

from catalog.errors import InvalidInput

MAX_JSON_DEPTH = 32
QUERY_VALUE_MAX = 2000
# An answer names this many fields at most (a body of 10,000 bad strings is one error).
MAX_REPORTED = 20
NUL_MESSAGE = "must not contain a NUL character"
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_CONTAINERS = {dict, list}  # the exact types JSON parsers return


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"at most {limit} bytes (CATALOG_MAX_REQUEST_BYTES)")


def check_size(request) -> None:
    """Refuse a body announced larger than the limit, before reading a byte of it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return  # Django reads such a body as empty
    if length > settings.CATALOG_MAX_REQUEST_BYTES:
        raise BodyTooLarge(settings.CATALOG_MAX_REQUEST_BYTES)


def is_json(content_type: str) -> bool:
    return content_type in JSON_TYPES or content_type.endswith("+json")


def parse_json(raw: bytes) -> Any:
    """The JSON document in `raw`, within the bounds above, or InvalidInput naming where."""
    errors: dict[str, str] = {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        _locate(raw, exc, errors)
        raise InvalidInput(errors) from None
    # orjson refuses non-finite numbers, and a NUL can only be written as an escape.
    _walk(value, errors, scalars=b"\\u0000" in raw)
    if errors:
        raise InvalidInput(errors)
    return value


def _locate(raw: bytes, strict_error: orjson.JSONDecodeError, errors: dict[str, str]) -> None:
    """Why orjson refused `raw`, naming the field where possible: it refuses NaN, Infinity
    and 1e400 without saying where, and Python's parser takes them."""
    message = str(strict_error)
    if "depth" in message or "recursion" in message:
        errors["body"] = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        return
    with contextlib.suppress(ValueError, RecursionError):  # then orjson's reason stands
        _walk(json.loads(raw), errors, scalars=True)
    if not errors:
        errors["body"] = f"invalid JSON: {message}"


def _walk(value: Any, errors: dict[str, str], *, scalars: bool) -> None:
    """Depth and (with `scalars`) NUL characters and finite numbers, without recursion:
    the document may be as deep as the parser allowed. Only containers get a path string
    built for them."""
    if type(value) not in _CONTAINERS:
        _check_scalar("body", value, errors)
        return
    stack: list[tuple[str, Any, int]] = [("" if type(value) is dict else "body", value, 1)]
    while stack and len(errors) < MAX_REPORTED:
        path, container, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            errors["body"] = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            return
        if type(container) is dict:
            for key, child in container.items():
                if "\x00" in key:
                    errors[_name(path, key)] = f"the key {NUL_MESSAGE}"
                elif type(child) in _CONTAINERS:
                    stack.append((_name(path, key), child, depth + 1))
                elif scalars:
                    _check_scalar(path, child, errors, key)
        else:
            for index, child in enumerate(container):
                if type(child) in _CONTAINERS:
                    stack.append((_name(path, index), child, depth + 1))
                elif scalars:
                    _check_scalar(path, child, errors, index)


def _check_scalar(path: str, value: Any, errors: dict[str, str], key=None) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            errors[_name(path, key)] = NUL_MESSAGE
    elif isinstance(value, float) and not math.isfinite(value):
        errors[_name(path, key)] = "expected a finite number"


def _name(path: str, key: str | int | None) -> str:
    if key is None:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_printable(key)}" if path else _printable(key)


def _printable(name: str) -> str:
    return name.replace("\x00", "\\u0000")


def check_fields(read: Callable[[], Any], what: str) -> None:
    """Query string or form fields: `read()` gives their QueryDict (read here, where
    having too many of them is caught)."""
    try:
        items = list(read().lists())
    except TooManyFieldsSent:
        raise InvalidInput(
            {what: f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields"}
        ) from None
    errors: dict[str, str] = {}
    for key, values in items:
        name = _printable(key)
        if "\x00" in key:
            errors[name] = f"the name {NUL_MESSAGE}"
        elif any("\x00" in value for value in values):
            errors[name] = NUL_MESSAGE
        elif any(len(value) > QUERY_VALUE_MAX for value in values):
            errors[name] = f"at most {QUERY_VALUE_MAX} characters"
        if len(errors) >= MAX_REPORTED:
            break
    if errors:
        raise InvalidInput(errors)


def check_path(path: str) -> None:
    """A NUL in the path is reported under the name of the URL part that holds it."""
    if "\x00" not in path:
        return
    try:
        match = resolve(path)
    except Resolver404:
        raise InvalidInput({"path": NUL_MESSAGE}) from None
    named = [name for name, value in match.kwargs.items() if "\x00" in str(value)]
    raise InvalidInput({name: NUL_MESSAGE for name in named} or {"path": NUL_MESSAGE})


def check_headers(meta: dict, cookies: dict) -> None:
    errors = {
        f"header {key[5:].replace('_', '-').title()}": NUL_MESSAGE
        for key, value in meta.items()
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value
    }
    errors.update(
        {
            f"cookie {_printable(name)}": NUL_MESSAGE
            for name, value in cookies.items()
            if "\x00" in name or "\x00" in value
        }
    )
    if errors:
        raise InvalidInput(errors)
