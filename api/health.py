"""`GET health/`: readiness of what the catalog depends on (database, broker, media
storage), for load balancers and monitoring."""

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import storage


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        if cursor.fetchone() is None:
            raise RuntimeError("pgvector extension missing (run migrate)")


def _broker() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _storage() -> None:
    root = settings.CATALOG_MEDIA_URI
    if storage.is_s3(root):
        bucket, _ = storage.split_s3(root.rstrip("/") + "/x")
        storage.s3_client().head_bucket(Bucket=bucket)
    else:
        path = storage.local_path(root)
        path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            raise RuntimeError(f"{root} is not a folder")


CHECKS = {"database": _database, "broker": _broker, "storage": _storage}


def health_report() -> dict:
    report: dict = {}
    for name, check in CHECKS.items():
        try:
            check()
            report[name] = "ok"
        except Exception as exc:  # a health check reports every failure as data
            report[name] = f"error: {exc}"
    report["status"] = "ok" if all(v == "ok" for v in report.values()) else "degraded"
    return report


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        report = health_report()
        return Response(report, status=200 if report["status"] == "ok" else 503)
