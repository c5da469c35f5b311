"""Domain errors on the web UI's pages: a `NotFound` from a selector is the UI's 404 page,
as `api/errors.py` makes it the API's 404 answer."""

from django.http import Http404

from catalog.errors import NotFound


class DomainErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(str(exception)) from exception
        return None
