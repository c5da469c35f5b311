"""Vectors read in bulk: a binary COPY's rows decoded in place, and what is refused."""

import struct

import numpy as np
import pytest

from catalog.sql import COPY_HEADER, COPY_TRAILER, copy_rows_body
from embeddings.binary import copied_halfvecs


def row(pk: int, halves: list[float] | None) -> bytes:
    if halves is None:
        return struct.pack(">hiqi", 2, 8, pk, -1)
    vector = struct.pack(">hh", len(halves), 0) + np.asarray(halves, dtype=">f2").tobytes()
    return struct.pack(">hiqi", 2, 8, pk, len(vector)) + vector


def copied(*rows: bytes) -> bytes:
    return COPY_HEADER + b"".join(rows) + COPY_TRAILER


def test_rows_decode_to_ids_and_float32_vectors():
    body = copy_rows_body(copied(row(7, [0.5, -2.0, 3.0]), row(2**40, [1.0, 0.0, -0.25])))
    pks, vectors = copied_halfvecs(body, 3)
    assert pks.tolist() == [7, 2**40]
    assert vectors.dtype == np.float32
    assert vectors.tolist() == [[0.5, -2.0, 3.0], [1.0, 0.0, -0.25]]


def test_no_rows_is_an_empty_matrix():
    pks, vectors = copied_halfvecs(copy_rows_body(copied()), 4)
    assert pks.shape == (0,) and vectors.shape == (0, 4)


@pytest.mark.parametrize(
    "data",
    [
        copied(row(1, [1.0, 2.0]), row(2, None)),  # a NULL vector: rows of another size
        copied(row(1, [1.0, 2.0, 3.0])),  # another dimension
        copied(row(1, [1.0, 2.0]))[:-5] + COPY_TRAILER,  # cut short
    ],
)
def test_rows_that_are_not_whole_vectors_are_refused(data):
    with pytest.raises(ValueError):
        copied_halfvecs(copy_rows_body(data), 2)


def test_output_that_is_not_a_binary_copy_is_refused():
    with pytest.raises(ValueError):
        copy_rows_body(b"1\t[1,2]\n")
