"""Data migrations run against rows written before them."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

from catalog.geo import track_cells
from tests.factories import SceneFactory

pytestmark = pytest.mark.django_db

track_cells_migration = importlib.import_module("catalog.migrations.0004_scene_track_cells")


def test_backfill_gives_tracks_their_cells():
    scene = SceneFactory(track_cells=[])
    without_track = SceneFactory(track_lat=[], track_lon=[], track_cells=[])
    with connection.schema_editor() as editor:
        track_cells_migration.backfill_track_cells(apps, editor)
    scene.refresh_from_db()
    without_track.refresh_from_db()
    assert scene.track_cells == track_cells(scene.track_lat, scene.track_lon) != []
    assert without_track.track_cells == []
