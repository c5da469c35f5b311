"""Which URIs the catalog accepts, and which local files a caller may have it read.

The one place these rules live: manifest locations (`manage.py ingest`, `POST ingest/`),
every URI inside a manifest, and the media view, which checks again before it serves.

- Forms: `s3://bucket/key`, `file:///absolute/path`, and paths (absolute, or relative to
  the manifest's folder). Any other scheme is refused. A manifest read from S3 names only
  S3 objects: its relative references stay in its bucket; `file://` and absolute paths
  in it are refused.
- Local files: an operator on the machine (`manage.py ingest`) may name any path. For
  callers of the HTTP API (`LocalAccess.from_settings()`), a local file must be a regular
  file that, after resolving `..` and symlinks, lies under one of CATALOG_LOCAL_ROOTS and
  outside the catalog's own data (DATA_DIR and the local media folder), whatever the
  roots say. A refusal reads the same whether or not the file exists.
"""

import functools
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings

NOT_ALLOWED = "not allowed or not found"
MAX_URI_CHARS = 4096
FORMS = "use s3://bucket/key, file:///path or a path relative to the manifest"

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Bucket names as S3 and MinIO accept them; keys without the characters a URL would split.
_S3 = re.compile(r"s3://([A-Za-z0-9][A-Za-z0-9._-]{0,62})/([^?#]+)")
# Relative references whose segments cannot be ".", ".." or empty and need no quoting:
# what manifests almost always hold (`videos/<scene>/front_wide.mp4`).
_PLAIN_RELATIVE = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*")


class UriRejected(ValueError):
    """A URI breaks one of the rules above; the message says which, never what exists."""


def location(text: str) -> str:
    """A manifest location given by a person (CLI argument, API body) as a canonical
    absolute URI; a path is taken relative to the working directory."""
    _check_text(text)
    scheme = _scheme(text)
    if scheme == "s3":
        return _s3(text)
    if scheme == "file":
        return _file(text)
    if scheme is not None:
        raise _unknown(scheme)
    return _path_uri(os.path.join(os.getcwd(), text))


def resolve(base_uri: str, ref: str) -> str:
    """`ref`, named in the manifest at `base_uri` (canonical), as a canonical absolute URI.

    String work only, except for the manifest's own folder (resolved once, cached):
    ingestion resolves 7 cameras per scene."""
    _check_text(ref)
    if _PLAIN_RELATIVE.fullmatch(ref):
        return _folder_prefix(base_uri) + ref
    from_s3 = is_s3(base_uri)
    scheme = _scheme(ref)
    if scheme == "s3":
        return _s3(ref)
    if scheme == "file" or (scheme is None and ref.startswith("/")):
        if from_s3:
            raise UriRejected(
                "a manifest in S3 may name only S3 objects (s3:// or a relative path)"
            )
        return _file(ref) if scheme else _path_uri(ref)
    if scheme is not None:
        raise _unknown(scheme)
    if from_s3:
        bucket, key = split_s3(base_uri)
        # normpath from "/" keeps ".." inside the bucket.
        joined = posixpath.normpath(posixpath.join("/", posixpath.dirname(key), ref))
        return _s3(f"s3://{bucket}{joined}")
    return _path_uri(posixpath.join(_local_folder(base_uri), ref))


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def is_local(uri: str) -> bool:
    return uri.startswith("file://")


def split_s3(uri: str) -> tuple[str, str]:
    match = _S3.fullmatch(uri)
    if match is None:
        raise UriRejected(f"not an s3://bucket/key URI ({FORMS})")
    return match.group(1), match.group(2)


def local_path(uri: str) -> str:
    """The filesystem path of a canonical `file://` URI."""
    if not is_local(uri):
        raise UriRejected("not a local file")
    return unquote(uri[len("file://") :])


@dataclass(frozen=True)
class LocalAccess:
    """Which local files a caller may have the catalog read. Picklable: ingestion hands
    it to its parse worker processes."""

    roots: tuple[str, ...] | None = None  # None: any path (an operator on the machine)
    private: tuple[str, ...] = ()  # never readable, even inside a root

    @classmethod
    def from_settings(cls) -> "LocalAccess":
        """The access of HTTP API callers: CATALOG_LOCAL_ROOTS minus the catalog's data."""
        private = [str(settings.DATA_DIR)]
        if is_local(settings.CATALOG_MEDIA_URI):
            private.append(local_path(settings.CATALOG_MEDIA_URI))
        return cls(
            roots=tuple(os.path.realpath(root) for root in settings.CATALOG_LOCAL_ROOTS),
            private=tuple(os.path.realpath(path) for path in private),
        )

    @property
    def restricted(self) -> bool:
        return self.roots is not None

    def check(self, uri: str) -> None:
        """UriRejected(NOT_ALLOWED) unless the caller may read `uri` (canonical)."""
        if self.restricted and not is_s3(uri):
            self.real_file(local_path(uri))

    def pinned(self, uri: str) -> str:
        """`uri` as the caller may read it: for a restricted caller a local URI becomes
        the `file://` URI of the regular file it resolves to now, so that swapping a
        symlink in after this check changes nothing."""
        if self.restricted and not is_s3(uri):
            return _path_uri(self.real_file(local_path(uri)))
        return uri

    def real_file(self, path: str) -> str:
        """The resolved path of `path` if it is a regular file this caller may read."""
        real = os.path.realpath(path)
        if self.restricted and not self.allows(real):
            raise UriRejected(NOT_ALLOWED)
        try:
            mode = os.stat(real).st_mode
        except (OSError, ValueError):
            raise UriRejected(NOT_ALLOWED) from None
        if not stat.S_ISREG(mode):
            raise UriRejected(NOT_ALLOWED)
        return real

    def allows(self, real: str) -> bool:
        return any(inside(real, root) for root in self.roots or ()) and not any(
            inside(real, private) for private in self.private
        )


OPERATOR = LocalAccess()  # an operator on the machine (`manage.py ingest`): any path


def servable_file(uri: str) -> str:
    """The resolved path of a local file that a stored scene names, if the media view may
    serve it (checked when serving, not only at ingest): a regular file; and one under
    CATALOG_LOCAL_ROOTS must still resolve inside them, so a symlink planted there after
    ingestion does not lead out."""
    access = LocalAccess.from_settings()
    path = posixpath.normpath(local_path(uri))
    configured = (posixpath.normpath(root) for root in settings.CATALOG_LOCAL_ROOTS)
    if any(inside(path, root) for root in (*configured, *(access.roots or ()))):
        return access.real_file(path)
    return OPERATOR.real_file(path)


def media_file(root_uri: str, relative: str) -> str:
    """The resolved path of `relative` inside the local media folder `root_uri`, if it is a
    regular file there after resolving `..` and symlinks."""
    root = os.path.realpath(local_path(root_uri))
    return LocalAccess(roots=(root,)).real_file(os.path.join(root, relative))


def inside(path: str, folder: str) -> bool:
    """`path` is `folder` or below it (both absolute and normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text:
        raise UriRejected(f"expected a URI ({FORMS})")
    if len(text) > MAX_URI_CHARS:
        raise UriRejected(f"longer than {MAX_URI_CHARS} characters")
    if _CONTROL.search(text):
        raise UriRejected("contains control characters")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise UriRejected("is not valid UTF-8") from None


def _scheme(text: str) -> str | None:
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else None


def _unknown(scheme: str) -> UriRejected:
    return UriRejected(f"scheme '{scheme}' is not allowed ({FORMS})")


def _s3(text: str) -> str:
    split_s3(text)
    return text


def _file(text: str) -> str:
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost"):
        raise UriRejected("file:// URIs must name a file on this machine (file:///path)")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise UriRejected("file:// URIs cannot hold ? or # (escape them as %3F, %23)")
    path = unquote(parts.path)
    _check_text(path)
    if not path.startswith("/"):
        raise UriRejected("file:// URIs must name an absolute path (file:///path)")
    return _path_uri(path)


def _path_uri(path: str) -> str:
    normal = posixpath.normpath(path)
    if normal.startswith("//"):  # POSIX keeps a leading "//"; it means "/" on Linux
        normal = "/" + normal.lstrip("/")
    return "file://" + quote(normal)


@functools.lru_cache(maxsize=64)
def _folder_prefix(base_uri: str) -> str:
    if is_s3(base_uri):
        bucket, key = split_s3(base_uri)
        folder = posixpath.normpath(posixpath.join("/", posixpath.dirname(key)))
        return f"s3://{bucket}{folder.rstrip('/')}/"
    return "file://" + quote(_local_folder(base_uri).rstrip("/")) + "/"


@functools.lru_cache(maxsize=64)
def _local_folder(base_uri: str) -> str:
    return os.path.dirname(os.path.realpath(local_path(base_uri)))
