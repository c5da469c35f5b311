"""One error shape for the whole API: `{"detail": ..., "errors": {field: [messages]}}`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from catalog.errors import InvalidInput, NotFound


def exception_handler(exc, context):
    if isinstance(exc, InvalidInput):
        exc = exceptions.ValidationError(exc.errors)
    elif isinstance(exc, NotFound):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        fields = ", ".join(str(name) for name in errors)
        response.data = {"detail": f"invalid input: {fields}", "errors": errors}
    return response
