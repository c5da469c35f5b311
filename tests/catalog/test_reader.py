"""Cutting JSON Lines manifests into blocks for the parse workers: numbering, blank lines,
gzip, and lines too long to be a scene."""

import gzip

import pytest

from catalog import storage
from catalog.ingest import reader
from catalog.ingest.reader import LineBlock, iter_chunks, open_manifest
from catalog.ingest.records import RecordError


def numbered(path, monkeypatch, *, read=7, block=16, max_line=1000):
    monkeypatch.setattr(reader, "READ_BYTES", read)
    monkeypatch.setattr(reader, "BLOCK_BYTES", block)
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", max_line)
    items = []
    for chunk in iter_chunks(open_manifest(storage.to_uri(path))):
        items.extend(chunk.items() if isinstance(chunk, LineBlock) else chunk)
    return [(n, v if isinstance(v, bytes) else type(v)) for n, v in items]


def test_blocks_keep_line_numbers_across_cuts_and_skip_blank_lines(tmp_path, monkeypatch):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n{"b": 22}\n{"c": 333}\n{"d": 4}')
    assert numbered(path, monkeypatch) == [
        (1, b'{"a": 1}'),
        (4, b'{"b": 22}'),
        (5, b'{"c": 333}'),
        (6, b'{"d": 4}'),
    ]


def test_gzipped_manifest_is_read_the_same(tmp_path, monkeypatch):
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"b": 2}\n'))
    assert numbered(path, monkeypatch) == [(1, b'{"a": 1}'), (2, b'{"b": 2}')]


@pytest.mark.parametrize("read", [5, 64, 4096])
def test_overlong_line_is_reported_and_skipped(tmp_path, monkeypatch, read):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"x" * 300 + b'\n{"c": 3}\n')
    assert numbered(path, monkeypatch, read=read, block=16, max_line=100) == [
        (1, b'{"a": 1}'),
        (2, RecordError),
        (3, b'{"c": 3}'),
    ]


def test_overlong_last_line_without_newline_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"x" * 300)
    assert numbered(path, monkeypatch, max_line=100) == [(1, b'{"a": 1}'), (2, RecordError)]
