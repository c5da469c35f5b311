"""Page-numbered lists: `page` (1, 2, ...; past the last page: 404) and `page_size`
(1..MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE). A malformed or out-of-range value is a
400 naming it, never silently replaced."""

from rest_framework.pagination import PageNumberPagination

from catalog.errors import InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Beyond any list the catalog keeps (10^6 scenes at one per page): refused unread.
MAX_PAGE = 10_000_000


def _whole(name: str, raw: str, high: int) -> int:
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
        raise InvalidInput({name: f"expected a whole number 1..{high}"})
    value = int(text)
    if not 1 <= value <= high:
        raise InvalidInput({name: f"expected a whole number 1..{high}"})
    return value


class Pagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        return _whole(self.page_size_query_param, raw, MAX_PAGE_SIZE) if raw else self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "")
        if raw and raw not in self.last_page_strings:
            _whole(self.page_query_param, raw, MAX_PAGE)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1, maximum=MAX_PAGE)
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=MAX_PAGE_SIZE)
                parameter["description"] = (
                    f"results per page, 1..{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})"
                )
        return parameters
