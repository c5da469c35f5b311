"""Pagination of API lists: `{"count", "next", "previous", "results"}`.

`Pagination` (page numbers, exact counts) serves the short lists: sets, saved searches,
versions. `KeysetPagination` serves the lists that grow with the fleet (`scenes/`, a
set's items), where OFFSET and COUNT(*) cost time in proportion to the page number and
to the number of matches:

- `next` / `previous` carry an opaque cursor: the sort key of the page's last (first)
  row. The next page is "rows after that key in list order, LIMIT n", one range scan of
  the index that serves the order, so page 20,000 costs what page 1 costs.
- `page=N` still works for the first `MAX_OFFSET` rows (an OFFSET that deep is cheap);
  deeper pages by number are a 400 naming `page` that says to follow `next`.
- `count` is exact while that is cheap: when the planner expects at most a few times
  `COUNT_CAP` rows, they are counted with `LIMIT COUNT_CAP + 1` (served by the
  filters' indexes) within `COUNT_BUDGET_MS`. Otherwise, `count` is the planner's
  estimate and `count_is_estimate` is true, unless the first page holds the whole list.

The order is the queryset's own `order_by`: fields all ascending or all descending,
the last one unique (the primary key), so every row has one place and a page boundary
never repeats or skips a row, even among rows that tie on the first fields.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import OperationalError, connections, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog.errors import InvalidInput, NotFound

# Deepest first row a page number may reach. OFFSET reads and drops every row before the
# page: 10,000 rows cost a few ms on the list's index, a filter that the index does not
# serve multiplies that.
MAX_OFFSET = 10_000
# Count exactly up to this many rows (an index range of that size costs ~1-5 ms); past
# it, the planner's estimate.
COUNT_CAP = 10_000
# What an exact count may cost before the estimate stands in: a filter whose indexes
# do not isolate its rows (two broad ones intersected) can take 100 ms to count 10,000.
# A page at 10^6 scenes is due within 50 ms, and the count comes on top of the page's
# own rows: bench/lists.py, 10 combined filters at 10^6, spent 15-20 ms of 55-63 here.
COUNT_BUDGET_MS = 5
QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled by statement_timeout
# Skip the exact count when the planner expects more than this many times the cap: its
# estimates of the indexed filters are within a small factor, and a LIMITed count of a
# broad filter would read COUNT_CAP rows only to report the estimate anyway.
ESTIMATE_TRUST = 2

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


@dataclass(frozen=True)
class Fetched:
    """A page's rows as a list's own `fetch` reads them, with what it learnt on the way."""

    rows: list
    count: int | None = None  # the whole list's length, when the fetch counted it
    estimate: int | None = None  # the planner's estimate of it


@dataclass(frozen=True)
class _Order:
    fields: tuple  # model fields, most significant first
    descending: bool


@dataclass(frozen=True)
class _Position:
    key: tuple  # the sort key of the boundary row
    backward: bool  # rows before the key (a `previous` link), else after it


class KeysetPagination(BasePagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    page_query_param = "page"
    cursor_query_param = "cursor"
    max_offset = MAX_OFFSET
    count_cap = COUNT_CAP

    def paginate_queryset(
        self, queryset: QuerySet, request, view=None, *, values=None, fetch=None
    ) -> list:
        """One page of `queryset` (ordered as described above): model instances, or
        dicts of `values` (the sort fields are added when missing).

        `fetch(after=key or None, backward=bool, offset=n, limit=n) -> Fetched`, when
        given, reads the page's rows instead of slicing `queryset` (a list that knows a
        better plan than the ORM's, as `scenes/` does).
        """
        self.request = request
        order = _order_of(queryset)
        size = self._page_size(request)
        position = self._position(request, order)
        offset = 0 if position else (self._page_number(request) - 1) * size
        if offset > self.max_offset:
            raise InvalidInput(
                {
                    self.page_query_param: f"page numbers reach the first {self.max_offset:,} "
                    f"rows only; follow the `next` links (a cursor) to go deeper"
                }
            )
        fetched = Fetched([])
        if fetch is not None:
            fetched = fetch(
                after=position.key if position else None,
                backward=bool(position and position.backward),
                offset=offset,
                limit=size + 1,
            )
            rows = fetched.rows
        else:
            rows_query = queryset
            if position:
                rows_query = rows_query.filter(_beyond(order, position, queryset.db))
            if position and position.backward:
                rows_query = rows_query.reverse()
            if values is not None:
                names = [f.attname for f in order.fields]
                rows_query = rows_query.values(*values, *[n for n in names if n not in values])
            rows = list(rows_query[offset : offset + size + 1])
        if not rows and not position and offset > 0:
            raise NotFound(f"page {offset // size + 1} is past the last page")
        more = len(rows) > size
        rows = rows[:size]
        if position and position.backward:
            rows.reverse()
            has_previous, has_next = more, True
        else:
            has_previous, has_next = bool(position) or offset > 0, more
        self.next_key = _key(rows[-1], order) if rows and has_next else None
        self.previous_key = _key(rows[0], order) if rows and has_previous else None
        if fetched.count is not None:
            self.count, self.count_is_estimate = fetched.count, False
        else:
            self.count, self.count_is_estimate = bounded_count(
                queryset, cap=self.count_cap, estimate=fetched.estimate
            )
        if not position and not has_next and (rows or not offset):
            # The whole list up to its end is in view: its length is known exactly.
            self.count, self.count_is_estimate = offset + len(rows), False
        elif not position:
            self.count = max(self.count, offset + len(rows) + 1)
        return rows

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.count,
                "count_is_estimate": self.count_is_estimate,
                "next": self._link(self.next_key, backward=False),
                "previous": self._link(self.previous_key, backward=True),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "count_is_estimate", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "matching rows; the planner's estimate when "
                    "count_is_estimate is true",
                },
                "count_is_estimate": {"type": "boolean"},
                "next": {**link, "description": "the next page (a cursor link)"},
                "previous": {**link, "description": "the previous page (a cursor link)"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        def parameter(name: str, kind: str, description: str) -> dict:
            return {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": kind},
            }

        return [
            parameter(
                self.cursor_query_param,
                "string",
                "opaque position from a `next` or `previous` link; overrides `page`",
            ),
            parameter(
                self.page_query_param,
                "integer",
                f"page number, for the first {self.max_offset:,} rows; deeper: follow `next`",
            ),
            parameter(
                self.page_size_query_param,
                "integer",
                f"rows per page (default {self.page_size}, at most {self.max_page_size})",
            ),
        ]

    # --- request parameters -------------------------------------------------------------

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        return _whole(self.page_size_query_param, raw, MAX_PAGE_SIZE) if raw else self.page_size

    def _page_number(self, request) -> int:
        raw = request.query_params.get(self.page_query_param, "")
        return _whole(self.page_query_param, raw, MAX_PAGE) if raw else 1

    def _position(self, request, order: _Order) -> _Position | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            return decode_cursor(raw, order)
        except (ValueError, TypeError, KeyError, ValidationError, binascii.Error):
            raise InvalidInput(
                {self.cursor_query_param: "not a cursor of this list: follow the links as given"}
            ) from None

    def _link(self, key: tuple | None, *, backward: bool) -> str | None:
        if key is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, encode_cursor(key, backward))


# --- order, keys and cursors ---------------------------------------------------------------


def _order_of(queryset: QuerySet) -> _Order:
    names = queryset.query.order_by
    if not names or not all(isinstance(name, str) for name in names):
        raise ImproperlyConfigured("keyset pagination needs a queryset ordered by field names")
    meta = queryset.model._meta
    descending = {name.startswith("-") for name in names}
    fields = tuple(
        meta.pk if name.lstrip("-") == "pk" else meta.get_field(name.lstrip("-")) for name in names
    )
    if len(descending) != 1 or not fields[-1].primary_key or any(f.is_relation for f in fields):
        raise ImproperlyConfigured(
            "keyset pagination needs local fields in one direction, ending with the primary key"
        )
    return _Order(fields, descending.pop())


def _key(row, order: _Order) -> tuple:
    if isinstance(row, dict):
        return tuple(row[f.attname] for f in order.fields)
    return tuple(getattr(row, f.attname) for f in order.fields)


def _beyond(order: _Order, position: _Position, using: str) -> RawSQL:
    """Rows after the key in list order (before it when going backward): one row
    comparison, which the index on the order's columns serves as a range."""
    quote = connections[using].ops.quote_name
    table = quote(order.fields[0].model._meta.db_table)
    columns = ", ".join(f"{table}.{quote(f.column)}" for f in order.fields)
    later = "<" if order.descending else ">"
    earlier = ">" if order.descending else "<"
    op = earlier if position.backward else later
    marks = ", ".join(["%s"] * len(order.fields))
    return RawSQL(f"({columns}) {op} ({marks})", list(position.key), BooleanField())


def encode_cursor(key: tuple, backward: bool = False) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps({"k": values, "b": backward} if backward else {"k": values})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, order: _Order) -> _Position:
    padded = text + "=" * (-len(text) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    values = data["k"]
    if not isinstance(values, list) or len(values) != len(order.fields):
        raise ValueError("wrong number of key values")
    key = []
    for field, value in zip(order.fields, values, strict=True):
        if value is None or isinstance(value, bool | dict | list):
            raise ValueError("not a key value")
        parsed = field.to_python(value)
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            raise ValueError("a cursor time needs its UTC offset")
        key.append(parsed)
    return _Position(tuple(key), backward=data.get("b") is True)


# --- counting --------------------------------------------------------------------------------


def bounded_count(queryset: QuerySet, *, cap: int, estimate: int | None = None) -> tuple[int, bool]:
    """(rows of `queryset`, whether that is the planner's estimate): exact up to `cap`
    rows when counting them takes at most COUNT_BUDGET_MS. `estimate`: the planner's,
    when the caller has it."""
    rows = queryset.order_by().values("pk")
    if estimate is None:
        estimate = planner_rows(rows)
    if estimate > cap * ESTIMATE_TRUST:
        return estimate, True
    counted = _count_within(rows[: cap + 1], COUNT_BUDGET_MS)
    if counted is None:  # over budget: the filters' indexes do not find the rows cheaply
        return estimate, True
    if counted <= cap:
        return counted, False
    return max(estimate, counted), True


def _count_within(rows: QuerySet, budget_ms: int) -> int | None:
    """`rows.count()`, or None when it would take longer than `budget_ms`."""
    sql, params = rows.query.sql_with_params()
    try:
        # In a transaction (or savepoint) of its own, rolled back after the count: that
        # ends the timeout with it, and a cancelled count spoils nothing around it.
        with transaction.atomic(using=rows.db), connections[rows.db].cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{budget_ms}ms"])
            cursor.execute(f"SELECT count(*) FROM ({sql}) AS capped", params)
            counted = cursor.fetchone()[0]
            transaction.set_rollback(True, using=rows.db)
            return counted
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED:
            return None
        raise


def planner_rows(queryset: QuerySet) -> int:
    """The planner's estimate of the rows `queryset` returns (no rows are read)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return round(plan[0]["Plan"]["Plan Rows"])
