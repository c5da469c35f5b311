"""Typed readers for environment variables.

Every setting the catalog reads from the environment goes through these helpers so
that a malformed value stops the process at start-up with the variable named, instead
of surfacing later as a confusing runtime error.
"""

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_MISSING = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _read(name: str, default: object, parse: Callable[[str], T], kind: str) -> T:
    raw = os.environ.get(name)
    if raw is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"environment variable {name} is required")
        return default  # type: ignore[return-value]
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a valid {kind}: {exc}") from exc


def env_str(name: str, default: object = _MISSING) -> str:
    return _read(name, default, str, "string")


def env_optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_int(name: str, default: object = _MISSING) -> int:
    return _read(name, default, int, "integer")


def env_float(name: str, default: object = _MISSING) -> float:
    return _read(name, default, float, "number")


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def env_bool(name: str, default: object = _MISSING) -> bool:
    return _read(name, default, _parse_bool, "boolean")


def env_list(name: str, default: object = _MISSING) -> list[str]:
    return _read(
        name, default, lambda raw: [item.strip() for item in raw.split(",") if item.strip()], "list"
    )


RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(raw: str) -> tuple[int, int]:
    """ "120/min" -> (120, 60): requests per period (s, sec, min, hour, day)."""
    count, _, period = raw.partition("/")
    period = period.strip().lower()
    if not count.strip().isdigit() or not period or period[0] not in RATE_PERIODS:
        raise ValueError("expected N/s, N/min, N/hour or N/day")
    return int(count), RATE_PERIODS[period[0]]


def _rate(raw: str) -> str | None:
    if raw.lower() in ("", "off", "none"):
        return None
    parse_rate(raw)
    return raw


def env_rate(name: str, default: object = _MISSING) -> str | None:
    """A request rate such as `120/min`; `off` (or empty) for none."""
    return _read(name, default, _rate, "rate")
