"""Serves local media by signed link, with HTTP Range so video players can seek.

What a link serves is decided by catalog.media (a stored scene's camera, or a file in
the media folder), checked on every request; nothing in the request names a path."""

import mimetypes
import os
import posixpath
import re

from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from catalog import storage
from catalog.media import MediaLinkInvalid, MediaNotFound, media_file_path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Open-ended ranges ("bytes=N-") are answered in pieces: players ask again for the rest.
_MAX_RANGE_BYTES = 8 * 1024 * 1024


def media_link(token: str, name: str) -> str:
    """The URL path of a signed link (registered with catalog.media by api.apps)."""
    return reverse("api:media", kwargs={"token": token, "name": name})


@require_GET
def media(request, token: str, name: str):
    try:
        path = media_file_path(token)
    except MediaLinkInvalid as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain")
    except MediaNotFound:
        raise Http404("no such media") from None
    try:
        # The resolved path, without following a symlink swapped in since the check.
        handle = storage.open_regular(path, follow_symlinks=False)
    except OSError:
        raise Http404("no such media") from None
    size = os.fstat(handle.fileno()).st_size
    content_type = mimetypes.guess_type(posixpath.basename(path))[0] or "application/octet-stream"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or match.groups() == ("", ""):
        response = FileResponse(handle, content_type=content_type)
    else:
        with handle:
            response = _partial(handle, size, *match.groups(), content_type)
        if response.status_code == 416:
            return response
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _partial(handle, size: int, first: str, last: str, content_type: str) -> HttpResponse:
    if first:
        start = int(first)
        end = min(int(last) if last else start + _MAX_RANGE_BYTES - 1, size - 1)
    else:  # "bytes=-N": the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)
    body = handle.read(end - start + 1)
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(len(body))
    return response
