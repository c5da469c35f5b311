"""Celery tasks of curation: standing-query runs and their webhook posts."""

import logging

from celery import shared_task

from curation import standing
from curation.webhooks import DeliveryFailed

logger = logging.getLogger(__name__)


@shared_task(name="curation.run_standing_queries")
def run_standing_queries() -> int:
    """Run the standing queries over the scenes waiting for them; returns new hits."""
    return standing.standing_queries_run().hits


@shared_task(
    bind=True,
    name="curation.deliver_webhook",
    max_retries=standing.WEBHOOK_MAX_RETRIES,
    acks_late=True,
)
def deliver_webhook(self, search_id: int, body: dict) -> str:
    """Post one standing query's new hits to its webhook; retried with backoff when the
    receiver is down or busy, given up after WEBHOOK_MAX_RETRIES retries."""
    try:
        status = standing.webhook_deliver(search_id=search_id, body=body)
    except DeliveryFailed as exc:
        if exc.retry and self.request.retries < self.max_retries:
            countdown = standing.WEBHOOK_BACKOFF_S * 2**self.request.retries
            logger.info("webhook of search %s: %s; retrying in %d s", search_id, exc, countdown)
            raise self.retry(countdown=countdown) from None
        logger.warning("webhook of search %s: %s; given up", search_id, exc)
        return "failed"
    return "dropped" if status is None else "delivered"
