"""The API's JSON parser: the bounded reading of `api.bounds` (orjson, depth, NUL, finite
numbers; errors are InvalidInput, a 400 naming the field). The site's middleware has
usually parsed the body already; its value is reused."""

from rest_framework import parsers

from api import bounds

_UNSET = object()


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        value = getattr(getattr(request, "_request", None), "bounded_json", _UNSET)
        if value is not _UNSET:
            return value
        return bounds.parse_json(stream.read())
