"""Fixtures shared by the whole suite: real PostgreSQL + pgvector and Redis (embedded),
S3 through boto3 against moto's server, users and authenticated API clients."""

import socket

import boto3
import pytest
from rest_framework.test import APIClient

from catalog import storage
from tests.factories import UserFactory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 in server mode: boto3 talks real HTTP to it, as to MinIO or AWS."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """An empty bucket `catalog-test`; yields `s3://catalog-test`."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    storage.reset_clients()
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="catalog-test")
    yield "s3://catalog-test"
    for obj in client.list_objects_v2(Bucket="catalog-test").get("Contents", []):
        client.delete_object(Bucket="catalog-test", Key=obj["Key"])
    client.delete_bucket(Bucket="catalog-test")
    storage.reset_clients()


@pytest.fixture
def media_dir(tmp_path, settings):
    """Thumbnails and exports go to a fresh local folder."""
    folder = tmp_path / "media"
    settings.CATALOG_MEDIA_URI = folder.as_uri()
    return folder


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are made by the hundred here: a deliberately slow hasher would dominate."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def api(user):
    """An API client authenticated with a token, as the training-data builder calls."""
    from rest_framework.authtoken.models import Token

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


@pytest.fixture
def anon_api():
    return APIClient()
