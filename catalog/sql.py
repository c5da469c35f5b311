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
