"""Serves local media by signed link, with HTTP Range so video players can seek."""

import mimetypes
import re

from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.http import require_GET

from catalog import storage
from catalog.media import MediaLinkInvalid, media_uri_from_token

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Open-ended ranges ("bytes=N-") are answered in pieces: players ask again for the rest.
_MAX_RANGE_BYTES = 8 * 1024 * 1024


@require_GET
def media(request, token: str, name: str):
    try:
        uri = media_uri_from_token(token)
        path = storage.local_path(uri)
    except (MediaLinkInvalid, storage.StorageError) as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain")
    if not path.is_file():
        raise Http404("no such media")
    size = path.stat().st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or match.groups() == ("", ""):
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
    else:
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(int(last) if last else start + _MAX_RANGE_BYTES - 1, size - 1)
        else:  # "bytes=-N": the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        with open(path, "rb") as handle:
            handle.seek(start)
            body = handle.read(end - start + 1)
        response = HttpResponse(body, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(len(body))
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response
