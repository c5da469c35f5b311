"""Standing-query notifications: which webhook URLs are allowed, what is posted, and
posting it.

- A URL must be http(s), without credentials, on a host listed in
  CATALOG_WEBHOOK_ALLOWED_HOSTS (exact names, any port; empty: no webhooks at all). It is
  checked when a watch is saved (a 400 naming `watch.webhook_url`) and again before each
  post, so removing a host from the list stops its posts.
- The body is Slack-compatible JSON: `{"text": "<summary with <url|scene> links>",
  "search": id, "hits": [...]}`; other receivers read `hits`.
- A redirect is never followed (it could lead to any host): it fails the delivery.
  Connection errors, timeouts, 429 and 5xx are worth retrying (the Celery task backs off
  and gives up after a few tries); other answers are final.
"""

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from curation import links

logger = logging.getLogger(__name__)

URL_MAX = 2000
TIMEOUT_S = 10.0
MAX_HITS_POSTED = 50  # hits in one body (the text lists fewer; the rest are a link away)
MAX_HITS_LISTED = 10
RETRY_STATUSES = {408, 425, 429}


class WebhookRefused(ValueError):
    """The URL may not be posted to; the message says why."""


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


def check_url(url: str) -> str:
    """`url` if it may be posted to now, else WebhookRefused."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookRefused("expected an http:// or https:// URL")
    url = url.strip()
    if len(url) > URL_MAX:
        raise WebhookRefused(f"at most {URL_MAX} characters")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise WebhookRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookRefused("only http:// and https:// URLs")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("credentials in the URL are not allowed")
    allowed = settings.CATALOG_WEBHOOK_ALLOWED_HOSTS
    if not allowed:
        raise WebhookRefused("webhooks are off: CATALOG_WEBHOOK_ALLOWED_HOSTS is empty")
    if host not in allowed:
        raise WebhookRefused(f"host {host!r} is not in CATALOG_WEBHOOK_ALLOWED_HOSTS")
    return url


def redacted(url: str) -> str:
    """What others than a watch's owner see of its URL: a webhook URL is a secret
    (whoever has it can post to the channel), its host is not."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else ""


# --- the body ------------------------------------------------------------------------------


def payload(*, search_id: int, search_name: str, results: list[dict]) -> dict:
    """The JSON posted for new hits (`results` as `run_search` gives them, best first)."""
    hits = [_hit(result) for result in results[:MAX_HITS_POSTED]]
    lines = [f"*{_escape(search_name)}*: {len(results)} new scene{_s(len(results))}"]
    for hit in hits[:MAX_HITS_LISTED]:
        label = _escape(hit["scene_id"]).replace("|", "¦")
        link = f"<{hit['url']}|{label}>" if hit["url"] else label
        score = f" score {hit['score']:.3f}" if hit["score"] is not None else ""
        frame = hit["frame"]
        moment = f" at {_escape(frame['camera'])} {frame['t_s']:g} s" if frame else ""
        lines.append(f"• {link}{score}{moment}")
    more = len(results) - min(len(hits), MAX_HITS_LISTED)
    if more > 0:
        all_hits = links.watch_url(search_id)
        lines.append(f"<{all_hits}|and {more} more>" if all_hits else f"and {more} more")
    body = {"text": "\n".join(lines), "search": search_id, "hits": hits}
    # Plain JSON now (dates as strings): the body travels through the broker as it is.
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def _hit(result: dict) -> dict:
    frame = result.get("frame")
    camera, t_s = (frame["camera"], frame["t_s"]) if frame else (None, None)
    hit = {
        "scene_id": result["scene_id"],
        "score": result.get("score"),
        "url": links.scene_url(result["scene_id"], camera=camera, t_s=t_s),
        "frame": None,
        "scene": result.get("scene"),
        "match": result.get("match"),
        "found_at": result.get("found_at"),
    }
    if frame:
        hit["frame"] = {
            **frame,
            "thumbnail_url": links.absolute(frame.get("thumbnail_url")),
        }
    return hit


def _escape(text: str) -> str:
    # Slack's three control characters in message text.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# --- posting -------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, "redirect not followed", headers, fp)


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: dict) -> int:
    """POST `body` as JSON to `url` (checked again first); the HTTP status on success,
    else DeliveryFailed saying whether a retry may help."""
    try:
        url = check_url(url)
    except WebhookRefused as exc:
        raise DeliveryFailed(f"refused: {exc}", retry=False) from None
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "scene-catalog/1"},
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_S) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise DeliveryFailed(f"HTTP {exc.code}: redirect not followed", retry=False) from None
        retry = exc.code >= 500 or exc.code in RETRY_STATUSES
        raise DeliveryFailed(f"HTTP {exc.code}", retry=retry) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"not delivered: {reason}", retry=True) from None
