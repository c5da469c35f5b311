"""Signed local media links: Range requests for seeking, expiry, forgery; and what a link
can ever serve: a stored scene's camera or a file in the media folder, checked on every
request, never a path from the request."""

import os
import time

import pytest
from django.core import signing

from catalog import media
from catalog.media import camera_urls, media_url
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "videos" / "front_wide.mp4"
    path.parent.mkdir()
    path.write_bytes(bytes(range(256)) * 4)
    return path


@pytest.fixture
def scene(video):
    return SceneFactory(cameras={"front_wide": video.as_uri()})


def link(scene, camera="front_wide", **kwargs) -> str:
    return camera_urls(scene, **kwargs)[camera]


def test_camera_link_serves_whole_file(client, scene, video):
    response = client.get(link(scene))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == video.read_bytes()
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"


def test_camera_link_serves_byte_range(client, scene, video):
    response = client.get(link(scene), HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert response.content == video.read_bytes()[10:20]
    assert response["Content-Range"] == "bytes 10-19/1024"


def test_camera_link_serves_suffix_range(client, scene, video):
    response = client.get(link(scene), HTTP_RANGE="bytes=-4")
    assert response.content == video.read_bytes()[-4:]


def test_unsatisfiable_range_is_416(client, scene):
    assert client.get(link(scene), HTTP_RANGE="bytes=5000-").status_code == 416


def test_forged_link_is_refused(client, scene):
    url = link(scene)
    token = url.split("/")[-2]
    assert client.get(url.replace(token, token[:-2] + "xx")).status_code == 403


def test_expired_link_is_refused(client, scene, monkeypatch):
    url = link(scene, expires_s=1)
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)
    assert client.get(url).status_code == 403


def test_links_of_the_old_path_format_are_refused(client, video):
    token = signing.dumps({"u": video.as_uri(), "e": 4_000_000_000}, salt="catalog.media")
    assert client.get(f"/api/v1/media/{token}/x.mp4").status_code == 403


def test_s3_objects_get_presigned_urls(s3):
    scene = SceneFactory(cameras={"front_wide": f"{s3}/videos/a.mp4"})
    url = link(scene)
    assert url.startswith("http://127.0.0.1:") and "X-Amz-Signature=" in url
    assert "X-Amz-Signature=" in media_url(f"{s3}/thumbnails/a.jpg")


def test_an_s3_camera_is_never_read_from_disk(client, s3):
    scene = SceneFactory(cameras={"front_wide": f"{s3}/videos/a.mp4"})
    token = signing.dumps(
        {"s": scene.pk, "c": "front_wide", "e": 4_000_000_000}, salt=media.SALT, compress=True
    )
    assert client.get(f"/api/v1/media/{token}/a.mp4").status_code == 404


def test_link_serves_what_the_scene_names_when_it_is_requested(client, scene, tmp_path):
    url = link(scene)
    other = tmp_path / "videos" / "other.mp4"
    other.write_bytes(b"other video")
    scene.cameras = {"front_wide": other.as_uri()}
    scene.save()
    assert b"".join(client.get(url).streaming_content) == b"other video"
    scene.delete()
    assert client.get(url).status_code == 404


def test_camera_that_is_no_longer_a_regular_file_is_404(client, scene, video):
    url = link(scene)
    video.unlink()
    os.mkfifo(video)  # would block a reader forever
    assert client.get(url).status_code == 404
    video.unlink()
    video.mkdir()
    assert client.get(url).status_code == 404


def test_symlink_planted_in_a_root_after_ingestion_is_404(client, scene, video, settings, tmp_path):
    settings.CATALOG_LOCAL_ROOTS = [str(video.parent)]
    url = link(scene)
    (tmp_path / "secret.txt").write_text("secret")
    video.unlink()
    video.symlink_to(tmp_path / "secret.txt")
    assert client.get(url).status_code == 404


def test_media_folder_files_are_served(client, media_dir):
    thumbnail = media_dir / "thumbnails" / "scene%3A1" / "front_wide" / "1.000.jpg"
    thumbnail.parent.mkdir(parents=True)
    thumbnail.write_bytes(b"jpeg")
    response = client.get(media_url(thumbnail.as_uri()))
    assert b"".join(response.streaming_content) == b"jpeg"
    assert response["Content-Type"] == "image/jpeg"


def test_files_outside_the_media_folder_get_no_link(media_dir, video):
    assert media_url(video.as_uri()) is None
    assert media_url((media_dir / ".." / "videos" / "front_wide.mp4").as_uri()) is None


@pytest.mark.parametrize(
    "target",
    [
        {"m": "../videos/front_wide.mp4"},
        {"m": "/etc/passwd"},
        {"s": 999_999, "c": "front_wide"},
        {"s": "scene", "c": "rear"},  # no such camera
        {"u": "file:///etc/passwd"},
    ],
)
def test_even_a_token_signed_with_the_key_reaches_nothing_else(client, media_dir, scene, target):
    # What a leaked SECRET_KEY would let someone sign: still only scene cameras and the
    # media folder.
    target = {k: scene.pk if v == "scene" else v for k, v in target.items()}
    token = signing.dumps({**target, "e": 4_000_000_000}, salt=media.SALT, compress=True)
    assert client.get(f"/api/v1/media/{token}/x.mp4").status_code == 404


def test_no_link_for_a_camera_uri_of_another_scheme(scene):
    scene.cameras = {"front_wide": "ftp://old/x.mp4"}
    assert camera_urls(scene) == {"front_wide": None}
