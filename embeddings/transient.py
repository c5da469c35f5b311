"""Which failures are worth retrying: the named transient ones, nothing else.

A missing video or denied access will not fix itself and fails the scene at once; S3
throttling, 5xx answers and dropped connections usually do, so the task retries them
with a backoff (boto3 has already retried each request a few times by then).
"""

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from catalog.storage import StorageError

TRANSIENT_S3_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}
TRANSIENT_CONNECTION_ERRORS = (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ConnectionError,
    TimeoutError,
)


class TransientError(Exception):
    """A failure that a later attempt will probably not meet."""


def classify_storage_error(exc: StorageError) -> TransientError | None:
    """A TransientError for a StorageError worth retrying, else None."""
    cause = exc.__cause__
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if error.get("Code") in TRANSIENT_S3_CODES or status >= 500:
            return TransientError(str(exc))
    elif isinstance(cause, TRANSIENT_CONNECTION_ERRORS):
        return TransientError(str(exc))
    return None
