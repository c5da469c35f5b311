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
# A `bbox` spans at most this many degrees of longitude and of latitude (about the size of
# the largest `near` circle): larger boxes select most of a fleet at the cost of testing
# every track point of every scene.
BBOX_MAX_SPAN_DEG = 10.0
# Times filters accept (as written, in their own UTC offset): far outside any recording,
# and far inside what the database and Python's datetime can convert between zones.
TIME_MIN_YEAR = 1900
TIME_MAX_YEAR = 2200
# Speed filters (m/s): far above any road vehicle.
SPEED_MAX_MPS = 1000.0
