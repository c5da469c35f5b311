"""Browser-playable URLs for stored objects (scene videos, thumbnails, exports).

S3 objects get presigned URLs. Local files get a signed, expiring token that names what
to serve, never a path: a camera of a stored scene (by scene key and camera name), or a
file by its place inside the local media folder. The media view (registered by the web
layer, see `register_link_view`) turns a token back into a file only through
`media_file_path`, which looks the scene up and checks the file again (catalog.uris)
each time it serves. Expiry is rounded to the hour so a page asks for the same URL again
within the hour and browsers can cache thumbnails.
"""

import posixpath
import time
from collections.abc import Callable

from django.conf import settings
from django.core import signing

from catalog import storage, uris
from catalog.models import Scene

SALT = "catalog.media.v2"
_BUCKET_S = 3600

LinkView = Callable[[str, str], str]  # (token, file name) -> URL path of the media view
_link_view: LinkView | None = None


class MediaLinkInvalid(Exception):
    """The token is forged, damaged or expired."""


class MediaNotFound(Exception):
    """The token is good, but what it names is gone or may not be served."""


def register_link_view(link_view: LinkView) -> None:
    """Called once by the web layer (its AppConfig.ready) with the URL of its media view."""
    global _link_view
    _link_view = link_view


def media_url(uri: str, *, expires_s: int | None = None) -> str | None:
    """A URL for an object the catalog wrote (thumbnail, export): presigned for S3, a
    signed link for a file in the local media folder; None for anything else."""
    if uris.is_s3(uri):
        return storage.presign(uri, _ttl(expires_s))
    relative = _media_relative(uri)
    if relative is None:
        return None
    return _link({"m": relative}, posixpath.basename(relative), expires_s)


def camera_urls(scene: Scene, *, expires_s: int | None = None) -> dict[str, str | None]:
    """Camera name -> a URL that plays its video (None for a URI that cannot be played)."""
    urls: dict[str, str | None] = {}
    for name, uri in sorted(scene.cameras.items()):
        if uris.is_s3(uri):
            urls[name] = storage.presign(uri, _ttl(expires_s))
        elif uris.is_local(uri):
            file_name = posixpath.basename(uris.local_path(uri)) or "video"
            urls[name] = _link({"s": scene.pk, "c": name}, file_name, expires_s)
        else:  # stored before URIs were validated at ingest
            urls[name] = None
    return urls


def media_file_path(token: str) -> str:
    """The resolved path of the local file the token names, checked now."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise MediaLinkInvalid("invalid media link") from exc
    if not isinstance(data, dict) or not isinstance(data.get("e"), int):
        raise MediaLinkInvalid("invalid media link")
    if data["e"] < time.time():
        raise MediaLinkInvalid("media link expired")
    try:
        if "s" in data:
            return uris.servable_file(_camera_uri(data["s"], data.get("c")))
        if "m" in data and uris.is_local(settings.CATALOG_MEDIA_URI):
            return uris.media_file(settings.CATALOG_MEDIA_URI, str(data["m"]))
    except uris.UriRejected:
        pass
    raise MediaNotFound("no such media")


def _camera_uri(scene_pk, camera) -> str:
    cameras = Scene.objects.filter(pk=scene_pk).values_list("cameras", flat=True).first()
    uri = (cameras or {}).get(camera) if isinstance(camera, str) else None
    if not isinstance(uri, str) or not uris.is_local(uri):
        raise uris.UriRejected(uris.NOT_ALLOWED)
    return uri


def _media_relative(uri: str) -> str | None:
    root = settings.CATALOG_MEDIA_URI
    if not (uris.is_local(uri) and uris.is_local(root)):
        return None
    path = posixpath.normpath(uris.local_path(uri))
    folder = posixpath.normpath(uris.local_path(root))
    if not uris.inside(path, folder) or path == folder:
        return None
    return posixpath.relpath(path, folder)


def _ttl(expires_s: int | None) -> int:
    return expires_s or settings.CATALOG_MEDIA_URL_TTL_S


def _link(target: dict, file_name: str, expires_s: int | None) -> str:
    if _link_view is None:
        raise RuntimeError("no media view registered (catalog.media.register_link_view)")
    expires_at = (int(time.time()) // _BUCKET_S + 1) * _BUCKET_S + _ttl(expires_s)
    token = signing.dumps({**target, "e": expires_at}, salt=SALT, compress=True)
    return _link_view(token, file_name)
