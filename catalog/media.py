"""Browser-playable URLs for stored objects (videos, thumbnails, exports).

S3 objects get presigned URLs. Local objects get a signed, expiring token for the media
view (`api.media`), which serves byte ranges so browsers can seek in videos. Either way
the URL itself is the permission, like an S3 presigned URL, and it expires. Expiry is
rounded to the hour so a page asks for the same URL again within the hour and browsers
can cache thumbnails.
"""

import time
from pathlib import PurePosixPath
from urllib.parse import urlparse

from django.conf import settings
from django.core import signing
from django.urls import reverse

from catalog import storage

SALT = "catalog.media"
_BUCKET_S = 3600


class MediaLinkInvalid(Exception):
    """The token is forged, damaged or expired."""


def media_url(uri: str, *, expires_s: int | None = None) -> str:
    ttl = expires_s or settings.CATALOG_MEDIA_URL_TTL_S
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        return uri
    if scheme == "s3":
        return storage.presign(uri, ttl)
    expires_at = (int(time.time()) // _BUCKET_S + 1) * _BUCKET_S + ttl
    token = signing.dumps({"u": storage.to_uri(uri), "e": expires_at}, salt=SALT, compress=True)
    name = PurePosixPath(urlparse(uri).path).name or "media"
    return reverse("api:media", kwargs={"token": token, "name": name})


def media_uri_from_token(token: str) -> str:
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise MediaLinkInvalid("invalid media link") from exc
    if data.get("e", 0) < time.time():
        raise MediaLinkInvalid("media link expired")
    return data["u"]
