"""`GET /metrics`: Prometheus metrics of the web and of the pipeline.

- `catalog_http_request_duration_seconds{view,method}` (histogram) and
  `catalog_http_requests_total{view,method,status}`: every request, by route name (never by
  raw path, so that ids do not explode the series), timed by `config.middleware`.
- `catalog_celery_queue_messages{queue}`: messages waiting in the broker (Redis list
  lengths); `catalog_celery_unacked_messages`: delivered, not yet acknowledged.
- `catalog_embedding_scenes{model,state}`: the embedding backlog (pending, running, done,
  failed) of the configured model.
- `catalog_ingest_lines_total{outcome}`: manifest lines inserted, updated, unchanged and
  rejected by ingest jobs (`POST ingest/`, watched folders), from their recorded results;
  `catalog_jobs{kind,state}`.

gunicorn runs several worker processes: with `PROMETHEUS_MULTIPROC_DIR` set (our gunicorn
config sets it) the request metrics of all of them are summed from that folder. The
pipeline figures are read from the database and broker when scraped.

Access: `Authorization: Bearer <CATALOG_METRICS_TOKEN>` (for the scraper), or a signed-in
staff user (session or API token). Anyone else: 401/403.
"""

import hmac
import logging
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.views import APIView

from catalog.models import Job

logger = logging.getLogger(__name__)

QUEUES = ("celery", "maintenance")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
INGEST_OUTCOMES = {
    "inserted": "inserted",
    "updated": "updated",
    "unchanged": "unchanged",
    "rejected": "rejected_count",
}

REQUEST_SECONDS = Histogram(
    "catalog_http_request_duration_seconds",
    "Time to answer a request, by route",
    ["view", "method"],
)
REQUESTS = Counter(
    "catalog_http_requests", "Requests answered, by route and status", ["view", "method", "status"]
)


def observe_request(request, response, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match is not None else "unmatched"
    method = request.method if request.method in _METHODS else "other"
    REQUEST_SECONDS.labels(view, method).observe(seconds)
    REQUESTS.labels(view, method, str(response.status_code)).inc()


class PipelineCollector:
    """Broker queues, embedding backlog and ingest outcomes, read at scrape time."""

    def collect(self):
        yield from self._queues()
        yield from self._embedding()
        yield from self._jobs()

    def _queues(self):
        from config.celery import app

        waiting = GaugeMetricFamily(
            "catalog_celery_queue_messages", "Messages waiting in a broker queue", labels=["queue"]
        )
        unacked = GaugeMetricFamily(
            "catalog_celery_unacked_messages", "Messages delivered to workers, not yet acknowledged"
        )
        try:
            with app.connection_for_read() as conn:
                channel = conn.default_channel
                for queue in QUEUES:
                    # A non-passive declare is a no-op on Redis that answers the length of
                    # the queue's lists (all priorities).
                    waiting.add_metric([queue], channel.queue_declare(queue=queue).message_count)
                unacked.add_metric([], channel.client.hlen(channel.unacked_key))
        except Exception as exc:  # the scrape goes on without what is down
            logger.warning("metrics: broker not read: %s", exc)
            return
        yield waiting
        yield unacked

    def _embedding(self):
        from embeddings.selectors import embedding_backlog

        backlog = embedding_backlog()
        family = GaugeMetricFamily(
            "catalog_embedding_scenes",
            "Scenes by embedding state for the configured model (never queued: pending)",
            labels=["model", "state"],
        )
        for state in ("pending", "running", "done", "failed"):
            family.add_metric([backlog["model"], state], backlog[state])
        yield family

    def _jobs(self):
        lines = CounterMetricFamily(
            "catalog_ingest_lines",
            "Manifest lines handled by ingest jobs, by outcome",
            labels=["outcome"],
        )
        sums = ", ".join(
            f"coalesce(sum((result->>'{key}')::bigint), 0)" for key in INGEST_OUTCOMES.values()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {sums} FROM {Job._meta.db_table} WHERE kind = %s", [Job.Kind.INGEST]
            )
            totals = cursor.fetchone()
            cursor.execute(f"SELECT kind, state, count(*) FROM {Job._meta.db_table} GROUP BY 1, 2")
            counts = cursor.fetchall()
        for outcome, total in zip(INGEST_OUTCOMES, totals, strict=True):
            lines.add_metric([outcome], total)
        yield lines
        jobs = GaugeMetricFamily("catalog_jobs", "Jobs by kind and state", labels=["kind", "state"])
        for kind, state, count in counts:
            jobs.add_metric([kind, state], count)
        yield jobs


def render_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        web = CollectorRegistry()
        MultiProcessCollector(web)
    else:
        web = REGISTRY
    pipeline = CollectorRegistry()
    pipeline.register(PipelineCollector())
    return generate_latest(web) + generate_latest(pipeline)


class MetricsAccess(BasePermission):
    message = "metrics need a staff user or the CATALOG_METRICS_TOKEN bearer token"

    def has_permission(self, request, view) -> bool:
        token = settings.CATALOG_METRICS_TOKEN
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if token and scheme.lower() == "bearer":
            return hmac.compare_digest(given.strip().encode(), token.encode())
        return bool(request.user and request.user.is_staff)


class PlainTextRenderer(BaseRenderer):
    """Error answers of the metrics endpoint, as text (a scraper reads no JSON)."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        detail = data.get("detail", "") if isinstance(data, dict) else data
        return f"{detail}\n".encode()


class AlwaysPlainText(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class MetricsView(APIView):
    permission_classes = [MetricsAccess]
    renderer_classes = [PlainTextRenderer]
    content_negotiation_class = AlwaysPlainText

    @extend_schema(exclude=True)
    def get(self, request):
        return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
