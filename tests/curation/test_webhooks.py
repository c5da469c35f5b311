"""Standing-query webhooks against a real HTTP server on the loopback: retried with
backoff until delivered once, never redirected elsewhere, only to allowed hosts."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from curation import services, standing, webhooks
from curation.tasks import deliver_webhook
from tests.curation.standing_support import World
from tests.factories import UserFactory

PUBLIC = "https://catalog.example.test"  # only ever written into links, never contacted


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next status of
    `statuses` (the last one repeats) and keeps what it received."""

    def __init__(self, statuses, *, location: str | None = None):
        self.statuses, self.location = list(statuses), location
        self.requests: list[tuple[int, dict | None]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                index = min(len(receiver.requests), len(receiver.statuses) - 1)
                status = receiver.statuses[index]
                receiver.requests.append((status, json.loads(raw) if raw else None))
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/catalog"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict]:
        return [body for status, body in self.requests if status == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    opened = []

    def make(statuses, **kw):
        receiver = Receiver(statuses, **kw)
        opened.append(receiver)
        return receiver

    yield make
    for receiver in opened:
        receiver.close()


@pytest.fixture
def allowed(settings, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # the loopback, nothing else
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CATALOG_PUBLIC_URL = PUBLIC


@pytest.fixture(autouse=True)
def scheduled(monkeypatch):
    from curation.tasks import run_standing_queries

    monkeypatch.setattr(run_standing_queries, "apply_async", lambda *a, **kw: None)


@pytest.mark.django_db
def test_a_failing_webhook_is_retried_until_delivered_once(
    allowed, receivers, django_capture_on_commit_callbacks
):
    receiver = receivers([500, 503, 200])
    world, owner = World(), UserFactory()
    saved = services.saved_search_create(
        owner=owner,
        name="look-alikes of <example> & co",
        search={"like_scene": "example"},
        watch={"min_score": 0.9, "webhook_url": receiver.url},
    )
    near, _ = world.arrive(lookalikes=2, others=3)
    with django_capture_on_commit_callbacks(execute=True):
        standing.standing_queries_run()
    assert [status for status, _ in receiver.requests] == [500, 503, 200]
    [body] = receiver.delivered()
    assert body["search"] == saved.pk
    assert {hit["scene_id"] for hit in body["hits"]} == {s.scene_id for s in near}
    assert body["text"].startswith("*look-alikes of &lt;example&gt; &amp; co*: 2 new scenes")
    for hit in body["hits"]:
        frame = hit["frame"]
        link = f"{PUBLIC}/scenes/{hit['scene_id']}?t={frame['t_s']:g}&camera={frame['camera']}"
        assert hit["url"] == link
        assert f"<{link}|{hit['scene_id']}>" in body["text"]
        assert hit["score"] >= 0.9 and hit["found_at"]
    assert receiver.requests[0][1] == body  # every attempt sends the same body


@pytest.mark.django_db
def test_a_webhook_that_keeps_failing_is_given_up(allowed, receivers):
    receiver = receivers([500])
    world, owner = World(), UserFactory()
    saved = services.saved_search_create(
        owner=owner,
        name="s",
        search={"like_scene": "example"},
        watch={"webhook_url": receiver.url},
    )
    assert world  # the example scene the search names
    assert deliver_webhook.delay(saved.pk, {"text": "x"}).get() == "failed"
    assert len(receiver.requests) == 1 + standing.WEBHOOK_MAX_RETRIES


@pytest.mark.django_db
def test_a_client_error_is_not_retried(allowed, receivers):
    receiver = receivers([404])
    with pytest.raises(webhooks.DeliveryFailed) as failed:
        webhooks.post(receiver.url, {"text": "x"})
    assert not failed.value.retry
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_redirect_is_never_followed(allowed, receivers):
    elsewhere = receivers([200])
    redirecting = receivers([302], location=elsewhere.url)
    with pytest.raises(webhooks.DeliveryFailed) as failed:
        webhooks.post(redirecting.url, {"text": "x"})
    assert "redirect" in str(failed.value) and not failed.value.retry
    assert elsewhere.requests == []


@pytest.mark.django_db
def test_a_host_removed_from_the_list_is_not_posted_to(allowed, receivers, settings):
    receiver = receivers([200])
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.test"]
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.post(receiver.url, {"text": "x"})
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://127.0.0.1/x", "only http"),
        ("http://user:secret@127.0.0.1/x", "credentials"),
        ("https://hooks.slack.example/x", "not in CATALOG_WEBHOOK_ALLOWED_HOSTS"),
        ("http://127.0.0.1.evil.example/x", "not in CATALOG_WEBHOOK_ALLOWED_HOSTS"),
        ("http://127.0.0.1:notaport/x", "not a valid URL"),
        ("", "expected"),
    ],
)
def test_urls_that_are_refused(settings, url, reason):
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(webhooks.WebhookRefused, match=reason):
        webhooks.check_url(url)


def test_an_empty_allow_list_refuses_every_webhook(settings):
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(webhooks.WebhookRefused, match="webhooks are off"):
        webhooks.check_url("https://127.0.0.1/x")


def test_hosts_match_whatever_their_case_and_port(settings):
    settings.CATALOG_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.test"]
    assert webhooks.check_url("https://HOOKS.example.test:8443/a") == (
        "https://HOOKS.example.test:8443/a"
    )


def test_the_text_lists_a_few_hits_and_links_the_rest(settings):
    settings.CATALOG_PUBLIC_URL = PUBLIC
    results = [
        {"scene_id": f"scene-{i}", "score": 0.5, "frame": None, "scene": {}, "match": {}}
        for i in range(webhooks.MAX_HITS_POSTED + 5)
    ]
    body = webhooks.payload(search_id=7, search_name="many", results=results)
    assert len(body["hits"]) == webhooks.MAX_HITS_POSTED
    assert body["text"].count("• ") == webhooks.MAX_HITS_LISTED
    more = len(results) - webhooks.MAX_HITS_LISTED
    assert body["text"].endswith(f"<{PUBLIC}/watches/#search-7|and {more} more>")
