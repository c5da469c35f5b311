"""One way to read and write objects by URI: local paths, `file://` and `s3://`.

S3 goes through boto3, which honours the standard settings (`AWS_ENDPOINT_URL_S3`,
`AWS_ACCESS_KEY_ID`, `AWS_REGION`, ...), so MinIO and moto's server work unchanged.
Everything that touches videos, manifests, thumbnails or exports uses this module.
"""

import functools
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from catalog import uris


class StorageError(OSError):
    """An object could not be read or written; the message names the URI."""


def is_s3(uri: str) -> bool:
    return uris.is_s3(uri)


def to_uri(path_or_uri: str | os.PathLike) -> str:
    """A local path (relative to the working directory) or URI, as a canonical absolute
    URI (see catalog.uris; raises uris.UriRejected for any other form)."""
    return uris.location(os.fspath(path_or_uri))


def join(base_uri: str, *parts: str) -> str:
    return "/".join([base_uri.rstrip("/"), *(p.strip("/") for p in parts)])


def local_path(uri: str) -> Path:
    """The filesystem path of a `file://` URI (or plain path)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else uri)
    raise StorageError(f"{uri}: not a local path")


def split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StorageError(f"{uri}: not an s3://bucket/key URI")
    return parsed.netloc, parsed.path.lstrip("/")


@functools.cache
def s3_client():
    # Explicit retries: transient S3 errors (throttling, 5xx) are retried by boto3 itself.
    # SigV4 for presigned URLs: newer AWS regions and MinIO accept nothing else.
    return boto3.client(
        "s3",
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, signature_version="s3v4"),
    )


def reset_clients() -> None:
    """Forget cached clients, e.g. after the S3 endpoint environment changed."""
    s3_client.cache_clear()


def open_read(uri: str) -> BinaryIO:
    """A binary stream over the object; the caller closes it."""
    try:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            return s3_client().get_object(Bucket=bucket, Key=key)["Body"]
        return open_regular(local_path(uri))
    except (ClientError, BotoCoreError, OSError) as exc:
        raise StorageError(f"cannot read {uri}: {_reason(exc)}") from exc


def open_regular(path: str | os.PathLike, *, follow_symlinks: bool = True) -> BinaryIO:
    """A local regular file, opened for reading; anything else (a device such as
    /dev/zero, a FIFO, a socket, a directory) raises StorageError before a byte is read.

    Checked before opening (opening some devices has effects) and again on the open
    descriptor, which O_NONBLOCK keeps from waiting on a FIFO without a writer."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise StorageError("not a regular file")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags if follow_symlinks else flags | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StorageError("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(uri: str) -> bytes:
    with open_read(uri) as stream:
        try:
            return stream.read()
        except (ClientError, BotoCoreError, OSError) as exc:
            raise StorageError(f"cannot read {uri}: {_reason(exc)}") from exc


def iter_chunks(uri: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    with open_read(uri) as stream:
        while chunk := stream.read(chunk_size):
            yield chunk


def exists(uri: str) -> bool:
    if is_s3(uri):
        bucket, key = split_s3(uri)
        try:
            s3_client().head_object(Bucket=bucket, Key=key)
            return True
        except ClientError:
            return False
    return local_path(uri).exists()


def size(uri: str) -> int:
    try:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            return s3_client().head_object(Bucket=bucket, Key=key)["ContentLength"]
        info = local_path(uri).stat()
        if not stat.S_ISREG(info.st_mode):
            raise StorageError("not a regular file")
        return info.st_size
    except (ClientError, BotoCoreError, OSError) as exc:
        raise StorageError(f"cannot stat {uri}: {_reason(exc)}") from exc


def write_bytes(uri: str, data: bytes, content_type: str | None = None) -> None:
    """Write an object whole: readers never see a partial file."""
    try:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            extra = {"ContentType": content_type} if content_type else {}
            s3_client().put_object(Bucket=bucket, Key=key, Body=data, **extra)
            return
        path = local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except (ClientError, BotoCoreError, OSError) as exc:
        raise StorageError(f"cannot write {uri}: {_reason(exc)}") from exc


def upload_file(local: Path, uri: str, content_type: str | None = None) -> None:
    """Copy a local file to `uri` (streamed for S3; atomic rename locally)."""
    try:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            extra = {"ContentType": content_type} if content_type else {}
            s3_client().upload_file(str(local), bucket, key, ExtraArgs=extra)
            return
        path = local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        shutil.copyfile(local, tmp)
        os.replace(tmp, path)
    except (ClientError, BotoCoreError, OSError) as exc:
        raise StorageError(f"cannot write {uri}: {_reason(exc)}") from exc


def presign(uri: str, expires_s: int) -> str:
    """An HTTPS URL that reads an S3 object without credentials until it expires."""
    bucket, key = split_s3(uri)
    return s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    return str(exc)
