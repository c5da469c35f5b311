"""Property-based requests from the published OpenAPI schema (schemathesis), sent in-process
through the WSGI application as a signed-in user: whatever the schema lets a client
write (and what it does not: schemathesis also sends invalid data), no answer is a 5xx.
A bounded number of examples per operation keeps it fast; the hostile-input cases that
matter are pinned down one by one in test_hostile.py."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from tests.curation.helpers import make_set
from tests.factories import SceneFactory

EXAMPLES_PER_OPERATION = 10


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the WSGI handler must not close the connection that
    holds the test's transaction at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(user):
    scene = SceneFactory(cameras={"front_wide": "file:///videos/front_wide.mp4"})
    make_set(user, [scene], name="fuzzed")
    return Token.objects.get_or_create(user=user)[0].key


# Loaded when the tests are collected: the schema view reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])
