"""The site's URLs, its error handlers and views that fail on purpose (ROOT_URLCONF of
tests/frontend/test_errors.py)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def forbidden(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("forbidden/", forbidden),
    path("broken/", broken),
    path("api/v1/broken/", broken),
    *urlpatterns,
]
