from django.db import migrations

# Frozen versions are immutable in the database itself, whatever code (admin, shell, a
# future bug) touches them:
# - a version row may be updated exactly once, by the freezing transaction, to seal it
#   (sha256/count/size_bytes from NULL to values; nothing else may change); never deleted;
# - version item rows are never updated or deleted, and cannot be added to a sealed version.
# TRUNCATE is deliberately not guarded: it is an owner-only whole-table operation that
# test runners use to reset databases.
FORWARD = """
CREATE FUNCTION curation_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.sha256 IS NULL AND NEW.sha256 IS NOT NULL
       AND (NEW.id, NEW.scene_set_id, NEW.number, NEW.note, NEW.manifest_schema,
            NEW.created_by_id, NEW.created_at, NEW.model_names, NEW.queries)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.scene_set_id, OLD.number, OLD.note, OLD.manifest_schema,
            OLD.created_by_id, OLD.created_at, OLD.model_names, OLD.queries)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'scene set version % is frozen: % refused', OLD.id, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER curation_version_immutable
    BEFORE UPDATE OR DELETE ON curation_scenesetversion
    FOR EACH ROW EXECUTE FUNCTION curation_version_guard();

CREATE FUNCTION curation_version_item_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'scene set version items are frozen: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER curation_version_item_immutable
    BEFORE UPDATE OR DELETE ON curation_scenesetversionitem
    FOR EACH ROW EXECUTE FUNCTION curation_version_item_guard();

CREATE FUNCTION curation_version_item_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_items n JOIN curation_scenesetversion v ON v.id = n.version_id
        WHERE v.sha256 IS NOT NULL
    ) THEN
        RAISE EXCEPTION 'cannot add items to a sealed scene set version'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

-- Statement level with a transition table: one check per INSERT, not one per row, so
-- freezing 100,000 scenes pays for it once.
CREATE TRIGGER curation_version_item_sealed
    AFTER INSERT ON curation_scenesetversionitem
    REFERENCING NEW TABLE AS new_items
    FOR EACH STATEMENT EXECUTE FUNCTION curation_version_item_insert_guard();
"""

BACKWARD = """
DROP TRIGGER curation_version_item_sealed ON curation_scenesetversionitem;
DROP TRIGGER curation_version_item_immutable ON curation_scenesetversionitem;
DROP TRIGGER curation_version_immutable ON curation_scenesetversion;
DROP FUNCTION curation_version_item_insert_guard();
DROP FUNCTION curation_version_item_guard();
DROP FUNCTION curation_version_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("curation", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
