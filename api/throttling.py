"""Per-user request rates of the expensive endpoints, from settings
(`CATALOG_THROTTLE_RATES`: `POST search/` and `POST ingest/`), answered with 429 and
`Retry-After` past them.

One throttle class for the whole API (`DEFAULT_THROTTLE_CLASSES`) finds the scope of a
request from its route and method (`SCOPES`), so views need no throttle code. Counts live
in the shared cache (Redis), so every gunicorn worker and every web host counts against
the same limit: a fixed window per period, counted with Redis' atomic increment (two
workers never both take the last request of a window). The cache unreachable lets the
request through: a throttle must not turn a cache outage into an API outage.
"""

import logging
import time

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from config.env import parse_rate

logger = logging.getLogger(__name__)

# (route name, method) -> scope; a scope's rate is settings.CATALOG_THROTTLE_RATES[scope].
SCOPES = {
    ("api:search", "POST"): "search",
    ("api:ingest", "POST"): "ingest",
}


class RouteRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        match = getattr(request, "resolver_match", None)
        scope = SCOPES.get((getattr(match, "view_name", None), request.method))
        rate = settings.CATALOG_THROTTLE_RATES.get(scope) if scope else None
        if not rate:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        self.retry_after = (window + 1) * period - now
        who = (
            f"user-{request.user.pk}" if request.user.is_authenticated else self.get_ident(request)
        )
        key = f"throttle:{scope}:{who}:{period}:{window}"
        cache = caches["default"]
        try:
            count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
        except (RedisError, ValueError) as exc:  # ValueError: the key expired between the two
            logger.warning("throttle %s not counted (cache: %s); request let through", scope, exc)
            return True
        return count <= limit

    def wait(self) -> float:
        return self.retry_after
