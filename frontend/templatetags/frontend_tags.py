"""Template helpers for the UI's forms."""

from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """`{{ state.values|get:name }}`: look a key up when the key is a variable."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
