"""The data-quality page and the quality flags on the scene page, without a browser."""

import pytest

from tests.factories import TOKYO_START, SceneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def test_quality_page_needs_login(client):
    response = client.get("/quality/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_quality_page_is_in_the_navigation(client_in):
    page = client_in.get("/").content.decode()
    assert 'href="/quality/"' in page


def test_quality_page_shows_the_window_as_local_days(client_in):
    page = client_in.get(
        "/quality/", {"start_after": "2026-11-27T15:30:00Z", "start_before": "2026-11-30"}
    ).content.decode()
    assert 'name="start_after" value="2026-11-28"' in page  # 00:30 on the 28th in Tokyo
    assert 'name="start_before" value="2026-11-30"' in page
    assert 'id="window-error" hidden' in page


def test_quality_page_keeps_a_bad_bound_and_names_it(client_in):
    page = client_in.get("/quality/", {"start_after": "soon"}).content.decode()
    assert 'name="start_after" value="soon"' in page
    assert "start_after: expected a date" in page


def test_quality_page_states_the_rule_with_the_settings(client_in, settings):
    settings.CATALOG_GNSS_MIN_FIX_RATE = 0.8
    settings.CATALOG_GNSS_OUTAGE_MIN_VEHICLES = 3
    page = client_in.get("/quality/").content.decode()
    assert "at least 3 vehicles" in page and "below 80%" in page


def test_scene_page_shows_its_flags(client_in):
    low = SceneFactory(gnss_fix_rate=0.42, gnss_outage=True, start_time=TOKYO_START)
    page = client_in.get(f"/scenes/{low.scene_id}").content.decode()
    assert 'data-flag="gnss_low"' in page and "42% fix" in page
    # The outage badge opens the quality page around the scene's day.
    assert 'href="/quality/?start_after=2026-11-14&amp;start_before=2026-12-12"' in page


def test_scene_page_without_flags_shows_none(client_in):
    fine = SceneFactory(gnss_fix_rate=0.99)
    assert "quality-flag" not in client_in.get(f"/scenes/{fine.scene_id}").content.decode()
