"""Site-wide HTTP rules, each in one place rather than in every view:

- `RequestContextMiddleware` (outermost): names the request's user in log lines
  (`catalog.logcontext`) and times each request for `/metrics` (`api.metrics`).
- `InputBoundsMiddleware`: the bounds of `api.bounds` on every request, before any view,
  session or token lookup: 413 past the body size, 400 naming the field otherwise.
- `ServiceUnavailableMiddleware`: a view that cannot reach the database or the broker
  answers 503 with the reason, not 500 (`frontend.errors.server_error` covers errors
  raised outside views the same way).

Answers under `/api/` are JSON in the API's error shape; other paths get the UI's pages.
"""

import logging
import time

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse

from api import bounds, metrics
from api.errors import RETRY_AFTER_S, invalid_input_body, unavailable_reason
from catalog import logcontext
from catalog.errors import InvalidInput
from frontend.errors import error_page, unavailable

logger = logging.getLogger(__name__)
API_PREFIX = "/api/"
_COMPACT = {"separators": (",", ":")}  # as DRF writes JSON


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Kept until the request is finished (`_forget_request`): Django logs a 4xx/5xx
        # answer after the middleware has returned it.
        logcontext.set_context()
        logcontext.set_request(request)
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.observe_request(request, response, time.perf_counter() - started)
        return response


@receiver(request_finished)
def _forget_request(sender, **kwargs) -> None:
    logcontext.set_request(None)
    logcontext.clear()


class InputBoundsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            bounds.check_size(request)
            bounds.check_path(request.path_info)
            bounds.check_headers(request.META, request.COOKIES)
            bounds.check_fields(lambda: request.GET, "query")
            self._check_body(request)
        except bounds.BodyTooLarge as exc:
            return self._too_large(request, exc)
        except InvalidInput as exc:
            return self._invalid(request, exc.errors)
        return self.get_response(request)

    def _check_body(self, request: HttpRequest) -> None:
        content_type = request.content_type or ""
        if bounds.is_json(content_type):
            raw = request.body
            if raw:
                # Parsed once: api.parsers.JSONParser hands this value to the view.
                request.bounded_json = bounds.parse_json(raw)
        elif content_type in bounds.FORM_TYPES and request.method == "POST":
            bounds.check_fields(lambda: request.POST, "body")

    def _invalid(self, request: HttpRequest, errors: dict) -> HttpResponse:
        if _is_api(request):
            return JsonResponse(invalid_input_body(errors), status=400, json_dumps_params=_COMPACT)
        message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
        return error_page(request, status=400, title="Bad request", message=message)

    def _too_large(self, request: HttpRequest, exc: bounds.BodyTooLarge) -> HttpResponse:
        if _is_api(request):
            body = {"detail": "request body too large", "errors": {"body": [str(exc)]}}
            return JsonResponse(body, status=413, json_dumps_params=_COMPACT)
        return error_page(
            request, status=413, title="Request too large", message=f"The body may be {exc}."
        )


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        reason = unavailable_reason(exception)
        if reason is None:
            return None
        logger.error("%s %s: %s (%s)", request.method, request.path, reason, exception)
        if _is_api(request):
            response = JsonResponse({"detail": reason}, status=503, json_dumps_params=_COMPACT)
            response["Retry-After"] = str(RETRY_AFTER_S)
            return response
        return unavailable(request, reason)
