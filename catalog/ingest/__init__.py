"""Manifest ingestion: read (reader) -> validate and derive (records) -> upsert (writer)."""
