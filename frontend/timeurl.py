"""Times typed into page URLs (`/vehicles/<id>?at=`): RFC 3339, or a local time without
an offset, which people mean in the catalog's time zone ("veh-07, 28 Nov, 09:31")."""

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

# "+09:00" typed unescaped into a query string arrives as " 09:00".
_PLUS_AS_SPACE = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})"
)


@dataclass(frozen=True)
class UrlTime:
    value: datetime  # aware
    assumed_zone: bool  # the text had no offset: read in the catalog's zone


def parse_url_time(raw: str, *, tz: ZoneInfo) -> UrlTime:
    """ValueError with a message for people when `raw` is not a time."""
    text = raw.strip()
    if not text:
        raise ValueError("expected a time, e.g. 2026-11-28T09:31:10+09:00 or 2026-11-28T09:31")
    match = _PLUS_AS_SPACE.fullmatch(text)
    if match:
        text = f"{match[1]}+{match[2]}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not a time: expected RFC 3339 (2026-11-28T09:31:10+09:00) "
            "or a local time (2026-11-28T09:31)"
        ) from None
    if value.tzinfo is None:
        return UrlTime(value.replace(tzinfo=tz), assumed_zone=True)
    return UrlTime(value, assumed_zone=False)
