"""What a version left out through the GNSS gate: `include_flagged`, `excluded_count` and
one immutable row per excluded item (scene id and its quality flags at freeze time).

Versions frozen before this migration excluded nothing (`excluded_count` 0) and predate
the gate (`include_flagged` null). Exclusion rows are guarded like version items: never
updated or deleted, and never added to a sealed version.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
CREATE FUNCTION curation_version_exclusion_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'scene set version exclusions are frozen: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER curation_version_exclusion_immutable
    BEFORE UPDATE OR DELETE ON curation_scenesetversionexclusion
    FOR EACH ROW EXECUTE FUNCTION curation_version_exclusion_guard();

CREATE FUNCTION curation_version_exclusion_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_exclusions n JOIN curation_scenesetversion v ON v.id = n.version_id
        WHERE v.sha256 IS NOT NULL
    ) THEN
        RAISE EXCEPTION 'cannot add exclusions to a sealed scene set version'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER curation_version_exclusion_sealed
    AFTER INSERT ON curation_scenesetversionexclusion
    REFERENCING NEW TABLE AS new_exclusions
    FOR EACH STATEMENT EXECUTE FUNCTION curation_version_exclusion_insert_guard();
"""

BACKWARD = """
DROP TRIGGER curation_version_exclusion_sealed ON curation_scenesetversionexclusion;
DROP TRIGGER curation_version_exclusion_immutable ON curation_scenesetversionexclusion;
DROP FUNCTION curation_version_exclusion_insert_guard();
DROP FUNCTION curation_version_exclusion_guard();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0006_standing_queries"),
        # Freezing reads the scenes' quality flags.
        ("catalog", "0011_gnss_gate"),
    ]

    operations = [
        migrations.AddField(
            model_name="scenesetversion",
            name="excluded_count",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="scenesetversion",
            name="include_flagged",
            field=models.BooleanField(null=True),
        ),
        migrations.CreateModel(
            name="SceneSetVersionExclusion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scene_id", models.CharField(max_length=200)),
                (
                    "reasons",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=32), size=None
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="exclusions",
                        to="curation.scenesetversion",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("version", "scene_id"), name="versionexclusion_unique_scene"
                    )
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
