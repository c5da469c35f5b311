"""Hostile and unlucky input wherever a client can put it: query strings, JSON bodies, form
bodies, URL paths, headers and cookies, on the API and the UI's pages. No answer is a
server error, and every refusal is a 400 (413 for a body past the size limit) that names
the field at fault."""

import json

import pytest
from rest_framework.authtoken.models import Token

from catalog.filters import FILTER_NAMES
from curation import services
from tests.curation.helpers import make_set
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE_ID = "9" * 30
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def world(user):
    scene = SceneFactory(scene_id="veh-07_20261128T093000_003")
    scene_set = make_set(user, [scene], name="night crossings")
    services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    saved = services.saved_search_create(owner=user, name="crossings", search={"text": "x"})
    return {"scene": scene.scene_id, "set": scene_set.pk, "search": saved.pk}


@pytest.fixture
def scene(db):
    return SceneFactory(scene_id="veh-07_20261128T093000_003")


@pytest.fixture
def ui(client, user):
    client.force_login(user)
    return client


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])


def names(response) -> set[str]:
    """The fields a 400 names: its `errors` keys (API) or its page's message (UI)."""
    if response["Content-Type"].startswith("application/json"):
        return set(response.json()["errors"])
    return {response.content.decode()}


def assert_names(response, field: str, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.content[:500])
    found = names(response)
    assert any(
        name == field or name.startswith((f"{field}[", f"{field}.", f"{field}: ")) or field in name
        for name in found
    ), (field, found)


# --- query strings -----------------------------------------------------------------------

# Values any filter must survive; some are fine for some filters, none may be a 5xx.
ODD_VALUES = [
    "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "9" * 400, "-1", "0", "1.5", " ",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-28T09:30:00",
    "x" * 300, "😀", ",,", "1,2,3,4,5", "1,2", "91,0,10", "0,0,1e400", "[]", "{}", "true",
]  # fmt: skip
BAD_VALUES = ["x" + NUL, NUL, "x" * 2001]


def _answers(request, values):
    """(value, answer) for each value, after checking that none is a server error."""
    answers = [(value, request(value)) for value in values]
    failed = [(repr(v)[:40], r.status_code) for v, r in answers if r.status_code >= 500]
    assert not failed, failed
    return answers


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_scene_list_survives_odd_filter_values(api, scene, name):
    for value, response in _answers(lambda v: api.get("/api/v1/scenes/", {name: v}), ODD_VALUES):
        if response.status_code == 400:
            assert_names(response, name)
        else:
            assert response.status_code == 200, (value, response.status_code)


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_scene_list_refuses_bad_filter_values_naming_them(api, scene, name):
    for _value, response in _answers(lambda v: api.get("/api/v1/scenes/", {name: v}), BAD_VALUES):
        assert_names(response, name)


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_search_page_survives_odd_filter_values(ui, scene, name):
    def get(value):
        return ui.get("/", {name: value, "text": "crossing"})

    for value, response in _answers(get, ODD_VALUES + BAD_VALUES):
        if value in BAD_VALUES:
            assert_names(response, name)


@pytest.mark.parametrize(
    "params",
    [{"limit": "1e400"}, {"limit": "-1"}, {"limit": "9" * 400}, {"like": "x" * 3000},
     {"text": "x" * 1500}, {"like": "nope"}],
)  # fmt: skip
def test_search_page_survives_odd_search_parameters(ui, scene, params):
    assert_no_server_error(ui.get("/", params))


def test_repeatable_filter_with_too_many_values_is_refused(api, scene):
    assert_names(api.get("/api/v1/scenes/", {"tag": [f"t{i}" for i in range(101)]}), "tag")


def test_too_many_query_fields_are_refused(api, scene):
    query = "&".join(f"f{i}=1" for i in range(1001))
    assert_names(api.get(f"/api/v1/scenes/?{query}"), "query")


LISTS = [
    "/api/v1/scenes/",
    "/api/v1/sets/",
    "/api/v1/searches/",
    "/api/v1/sets/{set}/items/",
    "/api/v1/sets/{set}/versions/",
]


BAD_PAGES = ["0", "-1", "1e400", "nan", "x", "9" * 40, "1.5", "1" + NUL]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("field", ["page", "page_size"])
def test_lists_refuse_bad_pages_naming_them(api, world, path, field):
    values = [*BAD_PAGES, "501"] if field == "page_size" else BAD_PAGES
    for _value, response in _answers(lambda v: api.get(path.format(**world), {field: v}), values):
        assert_names(response, field)


@pytest.mark.parametrize("path", LISTS)
def test_a_page_past_the_end_is_not_found(api, world, path):
    # Page 150 of 50 rows: within the first 10,000 rows that page numbers reach.
    assert api.get(path.format(**world), {"page": "150"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/scenes/", "/api/v1/sets/{set}/items/"])
def test_page_numbers_past_the_first_rows_say_to_follow_next(api, world, path):
    response = api.get(path.format(**world), {"page": "9999"})
    assert response.status_code == 400
    assert "follow the `next` links" in response.json()["errors"]["page"][0]


@pytest.mark.parametrize(
    "path,field,value",
    [
        ("/api/v1/sets/", "q", NUL),
        ("/api/v1/sets/", "owner", NUL),
        ("/api/v1/sets/", "q", "x" * 2001),
        ("/api/v1/searches/", "owner", "a" + NUL),
        ("/api/v1/sets/{set}/versions/1/manifest", "format", NUL),
        ("/api/v1/sets/{set}/versions/1/manifest", "presign", "1e400"),
        ("/api/v1/sets/{set}/versions/1/manifest", "presign", NUL),
        ("/api/v1/sets/{set}/versions/1/diff", "against", "1e400"),
        ("/api/v1/sets/{set}/versions/1/diff", "against", "0"),
        ("/api/v1/sets/{set}/versions/1/diff", "against", NUL),
        ("/api/v1/scenes/{scene}/", "anything", NUL),
        ("/api/v1/health/", "x", NUL),
    ],
)
def test_query_parameters_of_every_endpoint_are_bounded(api, world, path, field, value):
    assert_names(api.get(path.format(**world), {field: value}), field)


# --- JSON bodies -------------------------------------------------------------------------


def post_json(api, path: str, body, method: str = "post"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return getattr(api, method)(path, raw, content_type="application/json")


SEARCH_BODIES = [
    (b'{"text": "x", "limit": 1e400}', "limit"),
    (b'{"text": "x", "limit": NaN}', "limit"),
    (b'{"text": "x", "limit": -Infinity}', "limit"),
    ({"text": "x", "limit": 10**30}, "limit"),
    ({"text": "x", "limit": 0}, "limit"),
    ({"text": "x", "limit": 501}, "limit"),
    ({"text": "x", "limit": 2.5}, "limit"),
    ({"text": "x", "limit": "5"}, "limit"),
    ({"text": "x", "limit": True}, "limit"),
    ({"text": "x", "min_score": 2}, "min_score"),
    (b'{"text": "x", "min_score": NaN}', "min_score"),
    ({"text": NUL}, "text"),
    ({"text": "x" * 1001}, "text"),
    ({"text": 5}, "text"),
    ({"like_scene": NUL}, "like_scene"),
    ({"like_scene": "x" * 201}, "like_scene"),
    ({"like_scene": ["a"]}, "like_scene"),
    ({"text": "x", "cameras": [NUL]}, "cameras"),
    ({"text": "x", "cameras": ["front_wide"] * 33}, "cameras"),
    ({"text": "x", "cameras": "front_wide"}, "cameras"),
    ({"text": "x", "cameras": ["x" * 65]}, "cameras"),
    ({"like_frame": {"scene_id": "a", "camera": NUL, "t_s": 1}}, "like_frame.camera"),
    (b'{"like_frame": {"scene_id": "a", "camera": "c", "t_s": 1e400}}', "like_frame.t_s"),
    ({"like_frame": {"scene_id": "a", "camera": "c", "t_s": -1}}, "like_frame"),
    ({"filters": "x"}, "filters"),
    ({"filters": {"nope": 1}}, "filters.nope"),
    ({NUL: 1}, "\\u0000"),
    ({"text": "x", "extra": 1}, "extra"),
    (DEEP, "body"),
    (b"[" * 33 + b"]" * 33, "body"),
    (b'{"text": "x"', "body"),
    (b'"\\ud800"', "body"),
    (b"\xff\xfe", "body"),
    (b"[]", "non_field_errors"),
]


@pytest.mark.parametrize("body,field", SEARCH_BODIES, ids=lambda v: repr(v)[:40])
def test_search_refuses_bad_bodies_naming_the_field(api, scene, body, field):
    assert_names(post_json(api, "/api/v1/search/", body), field)


FILTER_JSON_VALUES = [
    NUL, [NUL], "x" * 300, [[]], {"a": 1}, -1, 10**30, 1e300, "0001-01-01T00:00:00+14:00",
    "1,2,3", "-180,-90,180,90", "0,0,1e9", ["x"] * 101, True, 25,
]  # fmt: skip


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_search_filters_survive_odd_values(api, scene, name):
    def search(value):
        return post_json(api, "/api/v1/search/", {"filters": {name: value}})

    for value, response in _answers(search, FILTER_JSON_VALUES):
        if response.status_code == 400:
            assert_names(response, f"filters.{name}")
        else:
            assert response.status_code == 200, (value, response.status_code)
        if NUL in json.dumps(value, ensure_ascii=False):
            assert response.status_code == 400


@pytest.mark.parametrize(
    "method,path,body,field",
    [
        ("post", "/api/v1/sets/", {"name": "a" + NUL}, "name"),
        ("post", "/api/v1/sets/", {"name": "x" * 201}, "name"),
        ("post", "/api/v1/sets/", {"name": ["a"]}, "name"),
        ("post", "/api/v1/sets/", {"name": "ok", "description": NUL}, "description"),
        ("post", "/api/v1/sets/", {"name": "ok", "description": "x" * 10_001}, "description"),
        ("patch", "/api/v1/sets/{set}/", {"name": NUL}, "name"),
        ("patch", "/api/v1/sets/{set}/", {"description": "x" + NUL}, "description"),
        ("post", "/api/v1/sets/{set}/items/", {"scene_ids": [NUL]}, "scene_ids[0]"),
        ("post", "/api/v1/sets/{set}/items/", {"scene_ids": ["x" * 300]}, "scene_ids"),
        ("post", "/api/v1/sets/{set}/items/", {"scene_ids": ["a"] * 10_001}, "scene_ids"),
        ("post", "/api/v1/sets/{set}/items/", {"search": {"text": NUL}}, "search.text"),
        ("post", "/api/v1/sets/{set}/items/", {"search": {"limit": 1e300}}, "limit"),
        ("delete", "/api/v1/sets/{set}/items/", {"scene_ids": ["a" + NUL]}, "scene_ids[0]"),
        ("patch", "/api/v1/sets/{set}/items/{scene}/", {"note": NUL}, "note"),
        (
            "patch",
            "/api/v1/sets/{set}/items/{scene}/",
            b'{"t_start_s": NaN}',
            "t_start_s",
        ),
        ("patch", "/api/v1/sets/{set}/items/{scene}/", {"t_start_s": 1e300}, "t_start_s"),
        ("post", "/api/v1/sets/{set}/versions/", {"note": NUL}, "note"),
        ("post", "/api/v1/searches/", {"name": NUL, "search": {"text": "x"}}, "name"),
        ("post", "/api/v1/searches/", {"name": "ok", "search": {"text": NUL}}, "search.text"),
        ("post", "/api/v1/searches/", {"name": "ok", "search": {"limit": 1e400}}, "search"),
        ("patch", "/api/v1/searches/{search}/", {"search": {"cameras": [NUL]}}, "search"),
        ("post", "/api/v1/ingest/", {"manifest_uri": "s3://b/" + NUL}, "manifest_uri"),
    ],
)
def test_bodies_of_every_endpoint_are_bounded(api, world, method, path, body, field):
    response = post_json(api, path.format(**world), body, method)
    assert_no_server_error(response)
    assert_names(response, field)


JSON_WRITES = [
    ("post", "/api/v1/search/"),
    ("post", "/api/v1/sets/"),
    ("patch", "/api/v1/sets/{set}/"),
    ("post", "/api/v1/sets/{set}/items/"),
    ("delete", "/api/v1/sets/{set}/items/"),
    ("patch", "/api/v1/sets/{set}/items/{scene}/"),
    ("post", "/api/v1/sets/{set}/versions/"),
    ("post", "/api/v1/searches/"),
    ("patch", "/api/v1/searches/{search}/"),
    ("post", "/api/v1/ingest/"),
]


@pytest.mark.parametrize("method,path", JSON_WRITES)
def test_a_100000_deep_document_is_refused_everywhere(api, world, method, path):
    assert_names(post_json(api, path.format(**world), DEEP, method), "body")


@pytest.mark.parametrize("method,path", JSON_WRITES)
def test_a_body_past_the_size_limit_is_413_in_the_error_shape(api, world, settings, method, path):
    settings.CATALOG_MAX_REQUEST_BYTES = 4096
    response = post_json(api, path.format(**world), {"text": "x" * 5000}, method)
    assert response.status_code == 413
    assert set(response.json()) == {"detail", "errors"}
    assert "body" in response.json()["errors"]


def test_a_body_past_the_size_limit_on_a_page_is_413(client, settings):
    settings.CATALOG_MAX_REQUEST_BYTES = 4096
    response = client.post("/login/", {"username": "x" * 5000, "password": "pw"})
    assert response.status_code == 413
    assert b"error-page" in response.content


# --- URL paths, headers, cookies, forms ----------------------------------------------------


@pytest.mark.parametrize(
    "path,status",
    [
        ("/api/v1/scenes/%00/", 400),
        ("/api/v1/scenes/a%00b/", 400),
        ("/api/v1/scenes/" + "x" * 5000 + "/", 404),
        ("/api/v1/scenes/%ED%A0%80/", 404),
        ("/api/v1/scenes/%2e%2e/", 404),
        ("/api/v1/scenes/%25/", 404),
        ("/api/v1/scenes/%F0%9F%98%80/", 404),
        (f"/api/v1/sets/{HUGE_ID}/", 404),
        (f"/api/v1/sets/{HUGE_ID}/items/", 404),
        (f"/api/v1/sets/{{set}}/versions/{HUGE_ID}/", 404),
        (f"/api/v1/sets/{{set}}/versions/{HUGE_ID}/manifest", 404),
        (f"/api/v1/jobs/{HUGE_ID}/", 404),
        (f"/api/v1/searches/{HUGE_ID}/", 404),
        ("/api/v1/sets/{set}/items/%00/", 400),
        ("/api/v1/media/%00/x.mp4", 400),
        ("/api/v1/nope%00/", 400),
    ],
)
def test_ids_in_api_paths(api, world, path, status):
    response = api.get(path.format(**world))
    assert response.status_code == status, response.content[:300]
    if status == 400 and "nope" not in path:
        assert names(response) & {"scene_id", "token"}


@pytest.mark.parametrize(
    "path,status",
    [
        ("/scenes/%00", 400),
        ("/scenes/x%00y/", 400),
        ("/scenes/" + "x" * 5000, 404),
        ("/scenes/%ED%A0%80", 404),
        ("/scenes/..%2F..%2Fetc%2Fpasswd", 404),
        ("/scenes/{scene}?t=1e400&camera=nope", 200),
        ("/scenes/{scene}?t=nan", 200),
        ("/scenes/{scene}?t=-5", 200),
        ("/scenes/{scene}?camera=%00", 400),
        (f"/sets/{HUGE_ID}/", 404),
        ("/sets/{set}/?page=%00", 400),
    ],
)
def test_ids_in_page_paths(ui, world, path, status):
    response = ui.get(path.format(**world))
    assert response.status_code == status, response.content[:300]


def test_a_nul_in_a_token_header_is_refused(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Token abc" + NUL)
    assert_names(anon_api.get("/api/v1/scenes/"), "header Authorization")


def test_a_valid_token_still_works(anon_api, user):
    token, _ = Token.objects.get_or_create(user=user)
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert anon_api.get("/api/v1/scenes/").status_code == 200


def test_a_nul_in_a_session_cookie_is_refused(client):
    client.cookies["sessionid"] = "abcdefgh" + NUL + "12345678"
    assert_names(client.get("/"), "cookie sessionid")


def test_a_nul_in_a_login_form_is_refused(client):
    assert_names(client.post("/login/", {"username": "a" + NUL, "password": "x"}), "username")
