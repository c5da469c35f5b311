"""Sizes of the catalog's identifiers and values, defined once.

The database columns, manifest validation, filters and search requests all read these,
so a value that validates anywhere fits everywhere.
"""

SCENE_ID_MAX = 200
VEHICLE_ID_MAX = 64
DRIVE_ID_MAX = 128
CAMERA_NAME_MAX = 64
TAG_MAX = 64
DISENGAGEMENT_KIND_MAX = 64

# Values one repeatable filter (`vehicle`, `tag`) may list.
FILTER_VALUES_MAX = 100
NEAR_RADIUS_MAX_M = 500_000.0
