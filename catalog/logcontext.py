"""Who and what a log line belongs to: the user of a request, the job and scene of a task.

The web's request middleware (`config.middleware`) and the Celery task hooks
(`config.celery`) set the context;
code that learns more on the way (which scene a task is embedding, which job it counts
towards) adds to it with `bind(...)`. `ContextFilter`, installed on the log handlers in
settings, puts it on every record as `%(context)s`: `" [user=ana job=12 scene=veh-07_...]"`,
or nothing when there is none, so an error in a worker's log names the job, scene and user
it belongs to without each `logger.error(...)` call spelling them out.
"""

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from django.utils.functional import SimpleLazyObject, empty

# The keys shown, in this order; others are ignored.
KEYS = ("user", "job", "scene", "task")

_context: ContextVar[dict[str, str] | None] = ContextVar("catalog_log_context", default=None)
# The request being served: its user is named once authentication has resolved it (the
# filter never triggers a session or token lookup itself).
_request: ContextVar[object | None] = ContextVar("catalog_log_request", default=None)


def current() -> dict[str, str]:
    return dict(_context.get() or {})


@contextlib.contextmanager
def bind(**values: object) -> Iterator[None]:
    """Add `values` (None ones skipped) to the context for the duration of the block."""
    token = _context.set({**current(), **{k: str(v) for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def set_context(**values: object) -> object:
    """Replace the context (a task or request begins); returns a token for `reset`."""
    return _context.set({k: str(v) for k, v in values.items() if v is not None})


def clear() -> None:
    """No context at all (a request or task has ended): `update` then adds nothing."""
    _context.set(None)


def reset(token: object) -> None:
    _context.reset(token)  # type: ignore[arg-type]


def set_request(request: object | None) -> object:
    """The request whose user log lines name (None: none); returns a token for
    `reset_request`."""
    return _request.set(request)


def reset_request(token: object) -> None:
    _request.reset(token)  # type: ignore[arg-type]


def _request_user(request: object) -> str | None:
    # Django's AuthenticationMiddleware sets a lazy user; DRF replaces it with the user
    # its authenticators found. Only a user already looked up is named.
    user = getattr(request, "__dict__", {}).get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.get_username()


def update(**values: object) -> None:
    """Add to the current context in place (until the task or request ends). Outside a
    task or request (a shell, a test) there is none to add to, and nothing would ever
    clear one set here: it would stick to the thread's later log lines."""
    context = _context.get()
    if context is not None:
        context.update({k: str(v) for k, v in values.items() if v is not None})


class ContextFilter(logging.Filter):
    """Sets `record.context` from the current context (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        request = _request.get()
        if request is not None and "user" not in context:
            user = _request_user(request)
            if user:
                context = {**context, "user": user}
        parts = [f"{key}={context[key]}" for key in KEYS if key in context]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True
