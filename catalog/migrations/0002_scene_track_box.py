from django.db import migrations

# GiST index over the track's bounding box as a geometric `box` (x = lon, y = lat): serves
# the `near` and `bbox` filters with an overlap test (&&) at 10^6 scenes, without PostGIS.
TRACK_BOX = "box(point(min_lon, min_lat), point(max_lon, max_lat))"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX scene_track_box_gist ON catalog_scene USING gist (({TRACK_BOX})) "
            "WHERE min_lat IS NOT NULL",
            "DROP INDEX scene_track_box_gist",
        )
    ]
