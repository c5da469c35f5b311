"""Raw SQL helpers for bulk reads that Django's cursor makes slow."""

from collections.abc import Sequence

import psycopg
from django.db import connection


def binary_rows(sql: str, params: Sequence = ()) -> list[tuple]:
    """Rows of `sql` with results in binary (a cursor of psycopg's own on the current
    connection, so in its transaction): arrays of numbers and pgvector's `*_send` bytes
    arrive as they are stored, with nothing to parse from text. Parameters are bound by
    the server: give big id lists as `id_array_literal` text with a `::bigint[]` cast."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, list(params), binary=True)
        return cursor.fetchall()


def id_array_literal(ids) -> str:
    """PostgreSQL's text form of an integer array (one string to send, not a list to
    render element by element)."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


# COPY's binary format: a signature, flags and an (empty) extension area before the
# rows, and a field count of -1 after them.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"


def copy_binary(sql: str) -> bytes:
    """What `COPY (sql) TO STDOUT (FORMAT binary)` writes, read on the current
    connection (in its transaction). COPY takes no parameters: `sql` must be complete,
    with only values this code rendered itself (numbers, `id_array_literal`)."""
    connection.ensure_connection()
    with (
        psycopg.Cursor(connection.connection) as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy,
    ):
        return b"".join(copy)


def copy_rows_body(data: bytes) -> memoryview:
    """The rows of a binary COPY (header and trailer checked and removed)."""
    if not data.startswith(COPY_HEADER) or not data.endswith(COPY_TRAILER):
        raise ValueError("not the output of COPY ... (FORMAT binary) without extensions")
    return memoryview(data)[len(COPY_HEADER) : len(data) - len(COPY_TRAILER)]
