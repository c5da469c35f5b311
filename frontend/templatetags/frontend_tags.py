"""Template helpers for the UI's forms."""

from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """`{{ state.values|get:name }}`: look a key up when the key is a variable."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def duration(seconds):
    """`{{ gap_s|duration }}`: "12 s", "4 min 05 s", "3 h 20 min", "2 d 4 h"."""
    s = max(0, round(float(seconds)))
    if s < 60:
        return f"{s} s"
    minutes, s = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
