"""The OpenAPI schema documents what validation accepts: both come from one definition."""

import pytest
import yaml

from catalog.errors import InvalidInput
from catalog.filters import FILTER_NAMES
from embeddings.search import SearchRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _search_body(schema) -> dict:
    post = schema["paths"]["/api/v1/search/"]["post"]
    return post["requestBody"]["content"]["application/json"]["schema"]


def test_search_body_documents_every_field_validation_accepts(schema):
    body = _search_body(schema)
    assert body["additionalProperties"] is False
    for name in body["properties"]:
        with pytest.raises(InvalidInput) as caught:
            SearchRequest.from_json({name: object()})
        # A known field, rejected for its value only.
        assert caught.value.errors[name] != ["unknown field"]
    with pytest.raises(InvalidInput) as caught:
        SearchRequest.from_json({"colour": "red"})
    assert caught.value.errors == {"colour": ["unknown field"]}
    assert set(body["properties"]) >= {"text", "like_scene", "filters", "limit", "min_score"}


def test_search_filters_document_every_scene_filter(schema):
    filters = _search_body(schema)["properties"]["filters"]
    assert tuple(filters["properties"]) == FILTER_NAMES
    assert filters["properties"]["vehicle"]["type"] == "array"


def test_scene_list_documents_every_filter_as_a_parameter(schema):
    params = schema["paths"]["/api/v1/scenes/"]["get"]["parameters"]
    documented = {p["name"] for p in params} - {"page", "page_size", "cursor"}
    assert documented == set(FILTER_NAMES)
