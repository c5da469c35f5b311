"""Fresh data in a real browser: the status bar, watching the current search, and the
standing queries page marking what is new since the last visit."""

import pytest
from django.core.cache import cache

from curation import services, standing
from curation.models import SavedSearch
from embeddings.selectors import STATUS_CACHE_KEY
from tests.factories import SceneFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def encoder_imported():
    """Searches name the model: import open_clip before the page's first search does
    (seconds on a busy machine) rather than inside the page's wait."""
    from embeddings.encoder import get_encoder

    assert get_encoder().dim


@pytest.fixture(autouse=True)
def no_cached_status():
    """The status is cached for a few seconds: an earlier test's catalog is not this one."""
    cache.delete(STATUS_CACHE_KEY)


def test_the_status_bar_reads_the_status_endpoint(signed_in, settings):
    settings.CATALOG_INGEST_WATCH_URI = "s3://fleet/incoming/"
    SceneFactory()
    SceneFactory()
    page = signed_in
    page.goto("/sets/")
    bar = page.locator("#statusbar[data-state=ok]")
    bar.wait_for()
    text = bar.inner_text()
    assert "2 scenes" in text
    assert "Watching" in text and "s3://fleet/incoming/" in text
    assert "just now" in page.locator('[data-testid="last-ingest"]').inner_text()
    assert page.js_errors == []


def test_watching_the_current_search(signed_in, user, settings):
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.test"]
    SceneFactory(tags=["rain"])
    page = signed_in
    page.goto("/?tag=rain")
    page.wait_for_selector("#results .card[data-scene-id]")
    page.click("#watch-search")
    assert page.input_value("#watch-name") == "Filtered scenes"
    page.fill("#watch-name", "rainy scenes")
    page.fill("#watch-webhook", "https://elsewhere.example.test/hook")
    page.click("#watch-dialog-ok")
    error = page.locator('[data-watch-error="watch.webhook_url"]')
    error.wait_for()
    assert "CATALOG_WEBHOOK_ALLOWED_HOSTS" in error.inner_text()
    assert not SavedSearch.objects.exists()

    page.fill("#watch-webhook", "https://hooks.example.test/T0/B0/secret")
    page.click("#watch-dialog-ok")
    page.locator(".toast a", has_text="rainy scenes").wait_for()
    saved = SavedSearch.objects.get()
    assert saved.search["filters"] == {"tag": ["rain"]}
    assert saved.watch.webhook_url == "https://hooks.example.test/T0/B0/secret"
    assert page.js_errors == []


def test_the_watches_page_marks_hits_new_since_the_last_visit(signed_in, user):
    saved = services.saved_search_create(
        owner=user, name="rain watch", search={"filters": {"tag": ["rain"]}}, watch={}
    )
    first = [SceneFactory(tags=["rain"]) for _ in range(2)]
    standing.on_scenes_changed([s.pk for s in first])  # runs at once: Celery is eager
    page = signed_in
    page.goto("/watches/")
    section = page.locator(f"#search-{saved.pk}")
    section.locator(".card[data-scene-id]").first.wait_for()
    assert section.locator('[data-testid="new-hits"]').inner_text() == "2 new"
    assert section.locator(".card.new-hit").count() == 2

    page.reload()
    section.locator(".card[data-scene-id]").first.wait_for()
    assert section.locator('[data-testid="new-hits"]').is_hidden()
    assert section.locator(".card.new-hit").count() == 0

    later = SceneFactory(tags=["rain"])
    standing.on_scenes_changed([later.pk, SceneFactory(tags=[]).pk])
    page.reload()
    section.locator(".card[data-scene-id]").first.wait_for()
    assert section.locator('[data-testid="new-hits"]').inner_text() == "1 new"
    new = section.locator(".card.new-hit").evaluate_all("cs => cs.map(c => c.dataset.sceneId)")
    assert new == [later.scene_id]
    href = section.locator("[data-open-search]").get_attribute("href")
    assert href == "/?tag=rain"
    assert page.js_errors == []
