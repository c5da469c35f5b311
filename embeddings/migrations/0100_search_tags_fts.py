from django.db import migrations

# Full-text matching of search text against scene tags (embeddings/search/text.py).
# array_to_string is only STABLE, so the index expression goes through an IMMUTABLE
# wrapper (safe for text[]: its output does not depend on settings). Declared IMMUTABLE
# with a STABLE body, PostgreSQL does not inline it, so queries written as
# catalog_tags_tsvector(s.tags) match the index expression exactly.
FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_tags_tsvector(tags varchar[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT to_tsvector('english'::regconfig, array_to_string(tags, ' ')) $$
"""


class Migration(migrations.Migration):
    # CONCURRENTLY: building the index on 10^6 scenes must not block ingestion.
    atomic = False

    dependencies = [
        ("catalog", "0002_scene_track_box"),
        ("embeddings", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS catalog_tags_tsvector(varchar[])"),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS scene_tags_fts ON catalog_scene "
            "USING gin (catalog_tags_tsvector(tags))",
            "DROP INDEX CONCURRENTLY IF EXISTS scene_tags_fts",
        ),
    ]
