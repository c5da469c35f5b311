"""Signed local media links: Range requests for seeking, expiry, forgery."""

import time

import pytest

from catalog.media import media_url


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "front_wide.mp4"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def test_media_link_serves_whole_file(client, video):
    response = client.get(media_url(video.as_uri()))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == video.read_bytes()
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"


def test_media_link_serves_byte_range(client, video):
    response = client.get(media_url(video.as_uri()), HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert response.content == video.read_bytes()[10:20]
    assert response["Content-Range"] == "bytes 10-19/1024"


def test_media_link_serves_suffix_range(client, video):
    response = client.get(media_url(video.as_uri()), HTTP_RANGE="bytes=-4")
    assert response.content == video.read_bytes()[-4:]


def test_unsatisfiable_range_is_416(client, video):
    response = client.get(media_url(video.as_uri()), HTTP_RANGE="bytes=5000-")
    assert response.status_code == 416


def test_forged_link_is_refused(client, video):
    url = media_url(video.as_uri())
    token = url.split("/")[-2]
    assert client.get(url.replace(token, token[:-2] + "xx")).status_code == 403


def test_expired_link_is_refused(client, video, monkeypatch):
    url = media_url(video.as_uri(), expires_s=1)
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)
    assert client.get(url).status_code == 403


def test_s3_objects_get_presigned_urls(s3):
    url = media_url(f"{s3}/videos/a.mp4")
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Signature=" in url
