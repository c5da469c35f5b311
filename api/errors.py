"""The one place where domain errors become HTTP answers, all in one shape:
`{"detail": ..., "errors": {field: [messages]}}` (errors only for bad input).

- `InvalidInput` (and Django's ValidationError) -> 400, naming each field;
- `NotFound` -> 404;
- `EncoderUnavailable` (CLIP weights cannot load) -> 503, saying what to set;
- Django's `PermissionDenied` -> 403 (DRF's own mapping).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
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


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        fields = ", ".join(str(name) for name in errors)
        response.data = {"detail": f"invalid input: {fields}", "errors": errors}
    return response
