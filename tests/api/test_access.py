"""Who may do what: one matrix of every route x method x role (anonymous, a signed-in user,
the owner of what the URL names, staff), held against the site and against the README.

The routes are enumerated from the URLconf, so a new endpoint (or a new method on one)
without a row fails `test_every_route_and_method_has_a_row`. Roles: `owner` is the user
who owns the set, saved search or job the URL names; where a URL names nothing owned, the
owner is a signed-in user like any other. Statuses with a request body: a valid body, so
that 2xx means "allowed"; for `POST ingest/` an empty one, so that 400 (the body
checked) means "allowed" without ingesting anything.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import Job
from curation import services
from tests.curation.helpers import make_scenes, make_set
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "user", "owner", "staff")
README = Path(__file__).resolve().parents[2] / "README.md"

SET = "api/v1/sets/<int:set_id>/"
# route -> method -> (url, body, {role: status}); roles not listed answer like "user".
R = "read"  # 401 anonymous, 200 signed in
MATRIX: dict[str, dict[str, tuple]] = {
    "api/v1/health/": {"GET": ("/api/v1/health/", None, (200, 200, 200, 200))},
    "api/v1/scenes/": {"GET": ("/api/v1/scenes/", None, R)},
    "api/v1/scenes/<str:scene_id>/": {"GET": ("/api/v1/scenes/{scene}/", None, R)},
    "api/v1/scenes/<str:scene_id>/duplicates/": {
        "GET": ("/api/v1/scenes/{scene}/duplicates/", None, R)
    },
    "api/v1/drives/<str:drive_id>/": {"GET": ("/api/v1/drives/{drive}/", None, R)},
    "api/v1/ingest/": {"POST": ("/api/v1/ingest/", {}, (401, 403, 403, 400))},
    "api/v1/ingest/manifests/": {"GET": ("/api/v1/ingest/manifests/", None, R)},
    "api/v1/status/": {"GET": ("/api/v1/status/", None, R)},
    "api/v1/jobs/<int:job_id>/": {"GET": ("/api/v1/jobs/{job}/", None, (401, 404, 200, 200))},
    # Signed links: the signature, not the caller, is the authority (a bad one: 403).
    "api/v1/media/<str:token>/<str:name>": {
        "GET": ("/api/v1/media/bad-token/x.mp4", None, (403, 403, 403, 403))
    },
    "api/v1/search/": {
        "POST": ("/api/v1/search/", {"filters": {"has_disengagement": False}}, (401, 200, 200, 200))
    },
    "api/v1/sets/": {
        "GET": ("/api/v1/sets/", None, R),
        "POST": ("/api/v1/sets/", {"name": "new"}, (401, 201, 201, 201)),
    },
    SET: {
        "GET": ("/api/v1/sets/{set}/", None, R),
        "PATCH": ("/api/v1/sets/{set}/", {"name": "renamed"}, (401, 403, 200, 200)),
        "DELETE": ("/api/v1/sets/{set}/", None, (401, 403, 204, 204)),
    },
    SET + "items/": {
        "GET": ("/api/v1/sets/{set}/items/", None, R),
        "POST": ("/api/v1/sets/{set}/items/", {"scene_ids": ["{spare}"]}, (401, 403, 200, 200)),
        "DELETE": ("/api/v1/sets/{set}/items/", {"scene_ids": ["{scene}"]}, (401, 403, 200, 200)),
    },
    SET + "items/<str:scene_id>/": {
        "GET": ("/api/v1/sets/{set}/items/{scene}/", None, R),
        "PATCH": ("/api/v1/sets/{set}/items/{scene}/", {"note": "n"}, (401, 403, 200, 200)),
    },
    SET + "versions/": {
        "GET": ("/api/v1/sets/{set}/versions/", None, R),
        "POST": ("/api/v1/sets/{set}/versions/", {}, (401, 403, 201, 201)),
    },
    SET + "versions/<int:number>/": {"GET": ("/api/v1/sets/{set}/versions/1/", None, R)},
    SET + "versions/<int:number>/manifest": {
        "GET": ("/api/v1/sets/{set}/versions/1/manifest", None, R)
    },
    SET + "versions/<int:number>/diff": {
        "GET": ("/api/v1/sets/{set}/versions/1/diff?against=1", None, R)
    },
    SET + "versions/<int:number>/leakage": {
        "GET": ("/api/v1/sets/{set}/versions/1/leakage?against={other_set}:1", None, R)
    },
    # A split makes new sets owned by the caller: reading the set is enough.
    SET + "split/": {
        "POST": ("/api/v1/sets/{set}/split/", {"parts": {"a": 0.5, "b": 0.5}}, (401, 201, 201, 201))
    },
    SET + "versions/<int:number>/excluded/": {
        "GET": ("/api/v1/sets/{set}/versions/1/excluded/", None, R)
    },
    "api/v1/quality/gnss/": {"GET": ("/api/v1/quality/gnss/", None, R)},
    "api/v1/mining/disengagements/": {
        "POST": ("/api/v1/mining/disengagements/", {"filters": {}}, (401, 200, 200, 200))
    },
    "api/v1/searches/": {
        "GET": ("/api/v1/searches/", None, R),
        "POST": ("/api/v1/searches/", {"name": "n", "search": {"text": "x"}}, (401, 201, 201, 201)),
    },
    "api/v1/searches/<int:search_id>/": {
        "GET": ("/api/v1/searches/{search}/", None, R),
        "PATCH": ("/api/v1/searches/{search}/", {"name": "m"}, (401, 403, 200, 200)),
        "DELETE": ("/api/v1/searches/{search}/", None, (401, 403, 204, 204)),
    },
    "api/v1/searches/<int:search_id>/hits/": {"GET": ("/api/v1/searches/{search}/hits/", None, R)},
    "api/schema/": {"GET": ("/api/schema/", None, (200, 200, 200, 200))},
    "api/docs/": {"GET": ("/api/docs/", None, (200, 200, 200, 200))},
    "metrics": {"GET": ("/metrics", None, (401, 403, 403, 200))},
    # UI pages: anonymous visitors are sent to the login page (302).
    "login/": {
        "GET": ("/login/", None, (200, 302, 302, 302)),
        "POST": ("/login/", {"username": "nobody", "password": "x"}, (200, 302, 302, 302)),
        "PUT": ("/login/", None, (200, 302, 302, 302)),
    },
    "logout/": {"POST": ("/logout/", None, (302, 302, 302, 302))},
    "": {"GET": ("/", None, (302, 200, 200, 200))},
    "scenes/<str:scene_id>": {"GET": ("/scenes/{scene}", None, (302, 200, 200, 200))},
    "scenes/<str:scene_id>/": {"GET": ("/scenes/{scene}/", None, (302, 200, 200, 200))},
    "drives/<str:drive_id>": {"GET": ("/drives/{drive}", None, (302, 200, 200, 200))},
    "drives/<str:drive_id>/": {"GET": ("/drives/{drive}/", None, (302, 200, 200, 200))},
    # A time the scene covers: signed in, a redirect to that moment of its drive.
    "vehicles/<str:vehicle_id>": {
        "GET": ("/vehicles/{vehicle}?at={at}", None, (302, 302, 302, 302))
    },
    "vehicles/<str:vehicle_id>/": {
        "GET": ("/vehicles/{vehicle}/?at={at}", None, (302, 302, 302, 302))
    },
    "sets/": {"GET": ("/sets/", None, (302, 200, 200, 200))},
    "sets/<int:set_id>/": {"GET": ("/sets/{set}/", None, (302, 200, 200, 200))},
    "quality/": {"GET": ("/quality/", None, (302, 200, 200, 200))},
    "watches/": {"GET": ("/watches/", None, (302, 200, 200, 200))},
    "ui/places.json": {"GET": ("/ui/places.json", None, (401, 200, 200, 200))},
}
# Django's own admin (staff only, its own login) is not part of the product's matrix.
EXCLUDED_PREFIXES = ("admin/",)
FORM_ROUTES = {"login/", "logout/"}


def expected(route: str, method: str) -> tuple[int, ...]:
    statuses = MATRIX[route][method][2]
    return (401, 200, 200, 200) if statuses == R else statuses


def _routes(resolver: URLResolver | None = None, prefix: str = ""):
    """(route, view callback) of every URL pattern."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def _methods(callback) -> set[str] | None:
    """The methods a class-based view answers (HEAD and OPTIONS come with GET and with
    every view); None for a function view, whose methods the matrix lists."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return None
    return {
        name.upper()
        for name in view_class.http_method_names
        if name not in ("head", "options") and hasattr(view_class, name)
    }


def test_every_route_and_method_has_a_row():
    for route, callback in _routes():
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        assert route in MATRIX, f"{route}: add it to the access matrix (and the README)"
        methods = _methods(callback)
        if methods is not None:
            assert methods == set(MATRIX[route]), (route, methods)


def render_table() -> str:
    """The README's table: one line per route and method, a status per role."""
    lines = [
        "| endpoint | method | anonymous | signed-in user | owner | staff |",
        "|---|---|---|---|---|---|",
    ]
    for route, methods in MATRIX.items():
        for method in methods:
            cells = [str(status) for status in expected(route, method)]
            lines.append(f"| `/{route}` | {method} | {' | '.join(cells)} |")
    return "\n".join(lines)


def test_the_readme_shows_the_matrix():
    assert render_table() in README.read_text(), "README access table differs:\n" + render_table()


@pytest.fixture
def world():
    owner = UserFactory(username="owner")
    # Local videos: signing S3 links would need credentials the tests do not have.
    scene, spare = make_scenes(2, cameras={"front_wide": "file:///videos/front_wide.mp4"})
    scene_set = make_set(owner, [scene], name="owned")
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=owner)
    other_set = make_set(owner, [spare], name="other")
    services.scene_set_freeze(scene_set_id=other_set.pk, actor=owner)
    saved = services.saved_search_create(owner=owner, name="s", search={"text": "rain"})
    job = Job.objects.create(
        kind=Job.Kind.INGEST, params={"manifest_uri": "s3://b/m.jsonl"}, created_by=owner
    )
    users = {
        "anonymous": None,
        "user": UserFactory(username="someone"),
        "owner": owner,
        "staff": UserFactory(username="admin", is_staff=True),
    }
    ids = {
        "set": scene_set.pk,
        "scene": scene.scene_id,
        "spare": spare.scene_id,
        "search": saved.pk,
        "job": job.pk,
        "other_set": other_set.pk,
        "drive": scene.drive.drive_id,
        "vehicle": scene.drive.vehicle.vehicle_id,
        "at": (scene.start_time + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return users, ids


def _fill(template, ids):
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, list):
        return [_fill(value, ids) for value in template]
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    return template


def _request(route: str, method: str, user, ids):
    url, body, _ = MATRIX[route][method]
    client = APIClient()
    if user is not None and route in FORM_ROUTES | {r for r in MATRIX if not r.startswith("api")}:
        client.force_login(user)
    elif user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    kwargs = {"format": "json"} if route not in FORM_ROUTES else {}
    if body is None:
        return getattr(client, method.lower())(_fill(url, ids))
    return getattr(client, method.lower())(_fill(url, ids), _fill(body, ids), **kwargs)


CELLS = [
    pytest.param(route, method, role, id=f"{method} /{route} {role}")
    for route, methods in MATRIX.items()
    for method in methods
    for role in ROLES
]


@pytest.mark.parametrize("route,method,role", CELLS)
def test_access(world, route, method, role):
    users, ids = world
    response = _request(route, method, users[role], ids)
    assert response.status_code == expected(route, method)[ROLES.index(role)], (
        response.status_code,
        response.content[:300],
    )
