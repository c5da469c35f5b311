"""The parse pool: same results in worker processes as in-process, also from inside a
daemonic process (a prefork Celery worker, where API-started ingests run)."""

import billiard

from catalog import storage
from catalog.ingest import reader
from catalog.ingest.parse import BadLine, ParsedLine, ParsePool
from catalog.ingest.reader import iter_chunks, open_manifest
from tests.manifests import scene_record, write_manifest


def parse_all(uri: str, workers: int) -> list[tuple[int, str, str | None]]:
    with ParsePool(uri, "Asia/Tokyo", workers=workers) as pool:
        return [
            (p.line_no, type(p).__name__, getattr(p, "content_sha256", None))
            for p in pool.parse(iter_chunks(open_manifest(uri)))
        ]


def test_workers_return_every_line_in_manifest_order(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "READ_BYTES", 4096)
    monkeypatch.setattr(reader, "BLOCK_BYTES", 8192)  # about one line per task
    records = [scene_record(i) for i in range(8)]
    records[3] = "[1, 2]"
    uri = storage.to_uri(write_manifest(tmp_path / "m.jsonl", records))
    in_workers = parse_all(uri, workers=2)
    assert in_workers == parse_all(uri, workers=1)
    assert [n for n, _, _ in in_workers] == list(range(1, 9))
    assert in_workers[3][1] == BadLine.__name__
    assert {kind for _, kind, _ in in_workers} == {BadLine.__name__, ParsedLine.__name__}


def test_workers_start_inside_a_daemonic_process(tmp_path):
    uri = storage.to_uri(write_manifest(tmp_path / "m.jsonl", [scene_record(i) for i in range(3)]))
    with billiard.Pool(1) as daemonic:  # Celery's prefork pool: its children are daemons
        parsed = daemonic.apply(parse_all, (uri, 2))
    assert [n for n, _, _ in parsed] == [1, 2, 3]
