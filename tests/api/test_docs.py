"""The interactive API docs work on a machine that reaches nothing outside: Swagger UI and
everything it loads come from our own static files."""

import re

import pytest

pytestmark = pytest.mark.django_db

LINKED = re.compile(r'\b(?:src|href)="([^"]*)"')


def test_docs_page_links_only_our_own_static_files(anon_api):
    response = anon_api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    links = LINKED.findall(html)
    assert {"swagger-ui.css", "swagger-ui-bundle.js"} <= {url.rsplit("/", 1)[-1] for url in links}
    assert all(url.startswith("/static/") for url in links), links
    assert "://" not in html  # no absolute URL anywhere, scripts and settings included


def test_docs_page_static_files_are_served(anon_api):
    html = anon_api.get("/api/docs/").content.decode()
    for url in LINKED.findall(html):
        response = anon_api.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, url


def test_docs_page_reads_the_schema_from_this_server(anon_api):
    html = anon_api.get("/api/docs/").content.decode()
    assert 'url: "/api/schema/"' in html
    assert anon_api.get("/api/schema/").status_code == 200
