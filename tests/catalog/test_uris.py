"""The URI rules: accepted forms, resolution against a manifest, and which local files an
API caller (CATALOG_LOCAL_ROOTS) or the media view may reach."""

import os
from pathlib import Path

import pytest

from catalog import uris
from catalog.uris import LocalAccess, UriRejected

LOCAL_MANIFEST = "file:///data/fleet/manifest.jsonl"
S3_MANIFEST = "s3://fleet-bucket/2026/11/manifest.jsonl"


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("videos/a/front.mp4", "file:///data/fleet/videos/a/front.mp4"),
        ("./videos/../videos/a b.mp4", "file:///data/fleet/videos/a%20b.mp4"),
        ("/srv/videos/a.mp4", "file:///srv/videos/a.mp4"),
        ("file:///srv/videos/a%20b.mp4", "file:///srv/videos/a%20b.mp4"),
        ("file://localhost/srv/x/../a.mp4", "file:///srv/a.mp4"),
        ("s3://other-bucket/v/a.mp4", "s3://other-bucket/v/a.mp4"),
    ],
)
def test_local_manifest_resolves_paths_file_and_s3(ref, expected):
    assert uris.resolve(LOCAL_MANIFEST, ref) == expected


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("videos/a.mp4", "s3://fleet-bucket/2026/11/videos/a.mp4"),
        ("../10/a.mp4", "s3://fleet-bucket/2026/10/a.mp4"),
        ("../../../../../etc/passwd", "s3://fleet-bucket/etc/passwd"),  # stays in the bucket
        ("s3://fleet-bucket/x.mp4", "s3://fleet-bucket/x.mp4"),
    ],
)
def test_s3_manifest_resolves_inside_s3(ref, expected):
    assert uris.resolve(S3_MANIFEST, ref) == expected


@pytest.mark.parametrize("ref", ["file:///etc/shadow", "/etc/passwd", "file://localhost/x"])
def test_s3_manifest_may_not_name_local_files(ref):
    with pytest.raises(UriRejected, match="only S3 objects"):
        uris.resolve(S3_MANIFEST, ref)


@pytest.mark.parametrize(
    "ref",
    [
        "ftp://evil/x.mp4",
        "http://example.com/a.mp4",
        "https://example.com/a.mp4",
        "javascript:alert(1)",
        "C:/videos/a.mp4",
        "data:video/mp4;base64,AAAA",
    ],
)
def test_other_schemes_are_refused_not_taken_as_relative_paths(ref):
    with pytest.raises(UriRejected, match="is not allowed"):
        uris.resolve(LOCAL_MANIFEST, ref)


@pytest.mark.parametrize(
    "ref, reason",
    [
        ("videos/a\x00.mp4", "control characters"),
        ("videos/a\n.mp4", "control characters"),
        ("file:///etc/passwd%00.mp4", "control characters"),
        ("file://evil.example/share/a.mp4", "on this machine"),
        ("file:relative.mp4", "absolute path"),
        ("file:///a.mp4?x=1", "cannot hold"),
        ("s3://", "not an s3://bucket/key"),
        ("s3://bucket/", "not an s3://bucket/key"),
        ("videos/\udcff.mp4", "UTF-8"),
        ("v/" + "a" * 5000, "longer than"),
        ("", "expected a URI"),
    ],
)
def test_malformed_references_are_refused_with_a_reason(ref, reason):
    with pytest.raises(UriRejected, match=reason):
        uris.resolve(LOCAL_MANIFEST, ref)


def test_location_takes_paths_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert uris.location("m.jsonl") == (tmp_path / "m.jsonl").as_uri()
    assert uris.location("s3://b/k.jsonl") == "s3://b/k.jsonl"
    with pytest.raises(UriRejected):
        uris.location("ftp://x/m.jsonl")


@pytest.fixture
def roots(tmp_path, settings):
    """A root holding a manifest, with the catalog's data dir and media folder inside it."""
    root = tmp_path / "root"
    (root / "fleet").mkdir(parents=True)
    (root / "fleet" / "m.jsonl").write_text("{}\n")
    settings.DATA_DIR = root / "data"
    settings.DATA_DIR.mkdir()
    (settings.DATA_DIR / "secret_key").write_text("s3cret")
    settings.CATALOG_MEDIA_URI = (root / "media").as_uri()
    (root / "media").mkdir()
    (root / "media" / "thumb.jpg").write_bytes(b"jpg")
    settings.CATALOG_LOCAL_ROOTS = [str(root)]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return root


def _refused(access: LocalAccess, path: Path | str) -> str:
    with pytest.raises(UriRejected) as excinfo:
        access.check(Path(path).as_uri())
    return str(excinfo.value)


def test_api_callers_read_regular_files_under_a_root(roots):
    access = LocalAccess.from_settings()
    access.check((roots / "fleet" / "m.jsonl").as_uri())
    access.check("s3://any-bucket/m.jsonl")


def test_api_callers_get_one_answer_for_missing_and_forbidden(roots, tmp_path):
    access = LocalAccess.from_settings()
    answers = {
        _refused(access, tmp_path / "outside" / "secret.txt"),  # exists, outside
        _refused(access, roots / "fleet" / "missing.jsonl"),  # inside, missing
        _refused(access, "/etc/passwd"),
        _refused(access, roots / "fleet" / ".." / ".." / "outside" / "secret.txt"),
    }
    assert answers == {uris.NOT_ALLOWED}


def test_the_catalogs_own_data_is_never_readable_through_a_root(roots, settings):
    access = LocalAccess.from_settings()
    assert _refused(access, settings.DATA_DIR / "secret_key") == uris.NOT_ALLOWED
    assert _refused(access, roots / "media" / "thumb.jpg") == uris.NOT_ALLOWED


def test_symlink_out_of_a_root_is_refused(roots, tmp_path):
    (roots / "fleet" / "link.jsonl").symlink_to(tmp_path / "outside" / "secret.txt")
    (roots / "fleet" / "dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    access = LocalAccess.from_settings()
    assert _refused(access, roots / "fleet" / "link.jsonl") == uris.NOT_ALLOWED
    assert _refused(access, roots / "fleet" / "dir" / "secret.txt") == uris.NOT_ALLOWED


def test_non_regular_files_are_refused_even_under_a_root(roots, settings):
    os.mkfifo(roots / "fleet" / "fifo")
    settings.CATALOG_LOCAL_ROOTS = [str(roots), "/dev"]
    access = LocalAccess.from_settings()
    for path in (roots / "fleet" / "fifo", roots / "fleet", "/dev/zero", "/dev/urandom"):
        assert _refused(access, path) == uris.NOT_ALLOWED


def test_without_roots_no_local_file_is_readable_through_the_api(roots, settings):
    settings.CATALOG_LOCAL_ROOTS = []
    assert _refused(LocalAccess.from_settings(), roots / "fleet" / "m.jsonl") == uris.NOT_ALLOWED


def test_an_operator_may_read_any_path():
    uris.OPERATOR.check("file:///etc/passwd")


def test_pinned_uri_names_the_resolved_file(roots):
    (roots / "fleet" / "alias.jsonl").symlink_to(roots / "fleet" / "m.jsonl")
    pinned = LocalAccess.from_settings().pinned((roots / "fleet" / "alias.jsonl").as_uri())
    assert pinned == (roots / "fleet" / "m.jsonl").as_uri()


def test_served_file_under_a_root_must_still_resolve_inside_it(roots, tmp_path):
    video = roots / "fleet" / "front.mp4"
    video.write_bytes(b"video")
    assert uris.servable_file(video.as_uri()) == str(video)
    video.unlink()
    video.symlink_to(tmp_path / "outside" / "secret.txt")  # planted after ingestion
    with pytest.raises(UriRejected):
        uris.servable_file(video.as_uri())


def test_served_file_must_be_regular(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", tmp_path, tmp_path / "missing.mp4"):
        with pytest.raises(UriRejected):
            uris.servable_file(path.as_uri())


def test_media_folder_files_cannot_lead_out_of_it(roots):
    media = (roots / "media").as_uri()
    assert uris.media_file(media, "thumb.jpg") == str(roots / "media" / "thumb.jpg")
    for escape in ("../fleet/m.jsonl", "/etc/passwd", "../data/secret_key"):
        with pytest.raises(UriRejected):
            uris.media_file(media, escape)
