"""The one place where domain errors become HTTP answers, all in one shape:
`{"detail": ..., "errors": {field: [messages]}}` (errors only for bad input).

- `InvalidInput` (and Django's ValidationError) -> 400, naming each field;
- `NotFound` -> 404;
- `EncoderUnavailable` (CLIP weights cannot load) -> 503, saying what to set;
- Django's `PermissionDenied` -> 403 (DRF's own mapping);
- the database or broker unreachable -> 503 with the reason (`unavailable_reason`, used by
  `config.middleware.ServiceUnavailableMiddleware` and the site's 500 handler, so that no
  page or endpoint answers a 500 for it).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from catalog.errors import InvalidInput, NotFound
from embeddings.encoder import EncoderUnavailable


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "a service the request needs is unavailable"
    default_code = "unavailable"


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, InvalidInput):
        return exceptions.ValidationError(exc.errors)
    if isinstance(exc, NotFound):
        return exceptions.NotFound(str(exc))
    if isinstance(exc, EncoderUnavailable):
        return ServiceUnavailable(str(exc))
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    return exc


def invalid_input_body(errors: dict) -> dict:
    """The body of a 400: `{"detail": "invalid input: a, b", "errors": {a: [...], b: [...]}}`."""
    fields = ", ".join(str(name) for name in errors)
    return {"detail": f"invalid input: {fields}", "errors": errors}


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        response.data = invalid_input_body(errors)
    return response


# Seconds a client is told to wait (Retry-After) when a service is down.
RETRY_AFTER_S = 5


def unavailable_reason(exc: BaseException) -> str | None:
    """What is down, when `exc` (or what caused it) says the database or the broker cannot
    be reached; None for any other error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError):
            return "the database is unavailable"
        if isinstance(exc, BrokerOperationalError | RedisConnectionError | RedisTimeoutError):
            return "the task broker (Redis) is unavailable"
        exc = exc.__cause__
    return None
