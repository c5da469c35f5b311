"""Curation: scene sets, frozen versions, manifests for the training-data builder.

- `models`: SceneSet (soft-deleted), SceneSetItem (who/when/which search, note, time
  window), SceneSetVersion + SceneSetVersionItem (values copied at freeze time; the
  database refuses to change them, migration 0002), SavedSearch.
- `services` (writes, owner or staff only) and `selectors` (reads, any signed-in user).
- `manifest`: the one row definition and the streamed jsonl/csv/parquet writers; the
  jsonl bytes are canonical and hash to the version's sha256.
- `limits`: documented per-request limits and the `confirm=true` guardrail.
- `manage.py export_set SET --version N --format parquet --out PATH`.
"""
