"""The site's error pages (`handler400/403/404/500`, CSRF failures, and the answers of the
site-wide middleware: 400/413 for input past a bound, 503 while a service is down).

People get a page in the UI's look; programs calling the API (paths under `/api/`) get
the API's JSON error shape, `{"detail": ...}`, whatever failed. The template needs no
context from a view, and a server or availability error is rendered without the request,
so that the error page itself cannot fail on whatever broke the request.
"""

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from api.errors import RETRY_AFTER_S, unavailable_reason

TEMPLATE = "frontend/error.html"
API_PREFIX = "/api/"


def _respond(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    message: str,
    path: str = "",
    render_with_request: bool = True,
) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": message}, status=status)
    context = {"status": status, "title": title, "message": message, "path": path}
    html = loader.get_template(TEMPLATE).render(context, request if render_with_request else None)
    return HttpResponse(html, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _respond(
        request, status=400, title="Bad request", message="The server could not read this request."
    )


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _respond(
        request,
        status=404,
        title="Not found",
        message="Nothing here: the address may be mistyped, or what it named was removed.",
        path=request.path,
    )


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _respond(
        request, status=403, title="Forbidden", message="You are not allowed to see this."
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _respond(
        request,
        status=403,
        title="Form expired",
        message="The form was sent without a valid security token (an old or reused page). "
        "Reload the page and try again.",
    )


def unavailable(request: HttpRequest, reason: str) -> HttpResponse:
    """503 while the database or broker is down: the reason, and when to try again."""
    response = _respond(
        request,
        status=503,
        title="Service unavailable",
        message=f"{reason[:1].upper()}{reason[1:]}; try again in a few seconds.",
        render_with_request=False,
    )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def error_page(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    """A page in the UI's look for an error found before any view ran (rendered without
    the request: its session or cookies may be what was wrong)."""
    return _respond(request, status=status, title=title, message=message, render_with_request=False)


def server_error(request: HttpRequest) -> HttpResponse:
    # Errors past the views (a session saved while the database is down) end here too.
    reason = unavailable_reason(sys.exc_info()[1])
    if reason is not None:
        return unavailable(request, reason)
    return _respond(
        request,
        status=500,
        title="Server error",
        message="Something went wrong on our side; it has been logged. Try again shortly.",
        render_with_request=False,
    )
