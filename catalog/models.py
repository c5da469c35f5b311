"""Scenes and what they are made of: vehicles, drives, signals, disengagements, jobs."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q

from catalog.limits import (
    DISENGAGEMENT_KIND_MAX,
    DRIVE_ID_MAX,
    SCENE_ID_MAX,
    TAG_MAX,
    VEHICLE_ID_MAX,
)


class Vehicle(models.Model):
    vehicle_id = models.CharField(max_length=VEHICLE_ID_MAX, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.vehicle_id


class Drive(models.Model):
    drive_id = models.CharField(max_length=DRIVE_ID_MAX, unique=True)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="drives")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.drive_id


class Scene(models.Model):
    """One 20-second scene. Derived attributes are columns so filters can use indexes."""

    # Unique through Meta.constraints: `unique=True` would add a second, LIKE-pattern index
    # that nothing queries and every ingested scene pays for.
    scene_id = models.CharField(max_length=SCENE_ID_MAX)
    # No index of its own: scene_vehicle_start (vehicle, start_time, id) serves vehicle lookups.
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="scenes", db_index=False
    )
    # No index of its own: scene_drive_start_id (drive, start_time, id) serves drive lookups.
    drive = models.ForeignKey(
        Drive,
        on_delete=models.PROTECT,
        related_name="scenes",
        null=True,
        blank=True,
        db_index=False,
    )
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    duration_s = models.FloatField()
    local_hour = models.SmallIntegerField()
    cameras = models.JSONField(default=dict)  # camera name -> absolute video URI
    tags = ArrayField(models.CharField(max_length=TAG_MAX), default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    manifest_uri = models.TextField(blank=True, default="")
    # sha256 of the normalised manifest record: re-ingesting an unchanged scene is a no-op.
    content_sha256 = models.CharField(max_length=64)

    max_speed_mps = models.FloatField(null=True)
    mean_speed_mps = models.FloatField(null=True)
    max_decel_mps2 = models.FloatField(null=True)  # largest deceleration, positive
    gnss_fix_rate = models.FloatField(null=True)  # share of samples with a GNSS fix
    disengagement_count = models.IntegerField(default=0)
    start_lat = models.FloatField(null=True)
    start_lon = models.FloatField(null=True)
    end_lat = models.FloatField(null=True)
    end_lon = models.FloatField(null=True)
    # Bounding box of the GNSS track (GiST-indexed as a `box` for near/bbox filters)
    # and the track itself at 1 Hz for the exact distance test and the map.
    min_lat = models.FloatField(null=True)
    max_lat = models.FloatField(null=True)
    min_lon = models.FloatField(null=True)
    max_lon = models.FloatField(null=True)
    track_lat = ArrayField(models.FloatField(), default=list, blank=True)
    track_lon = ArrayField(models.FloatField(), default=list, blank=True)
    # Grid cells the track visits (catalog.geo.track_cells), GIN-indexed for `near`.
    # Whoever writes the track writes these too: a scene without them is never near.
    track_cells = ArrayField(models.BigIntegerField(), default=list, db_default=[], blank=True)
    # The GNSS gate (catalog.quality): the scene's local day is an outage day. Ingest keeps
    # it right for every scene of each day it touches (catalog.quality_upkeep); a database
    # default because ingest COPYs rows without it. (`gnss_low` needs no column: it is
    # gnss_fix_rate below the threshold, indexed as scene_gnss_fix_rate.)
    gnss_outage = models.BooleanField(default=False, db_default=False)

    ingested_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # (start_time, id): the list's order, with id breaking ties between scenes
            # that start in the same second, so pages never repeat or skip a scene.
            models.Index(F("start_time").desc(), F("id").desc(), name="scene_start_id_desc"),
            # With the id: a vehicle's scene ids (a search's plan counts them, a scene
            # scan joins them to their vectors) come from the index alone, not from one
            # random heap row each (10^4 scenes: ~2 ms instead of ~20).
            models.Index(fields=["vehicle", "start_time", "id"], name="scene_vehicle_start"),
            # A drive's scenes in time order, its first start, and a scene's neighbours:
            # without it the planner walks the global start-time index (~300 ms at 10^5).
            models.Index(fields=["drive", "start_time", "id"], name="scene_drive_start_id"),
            models.Index(fields=["max_speed_mps"], name="scene_max_speed"),
            models.Index(fields=["mean_speed_mps"], name="scene_mean_speed"),
            models.Index(fields=["gnss_fix_rate"], name="scene_gnss_fix_rate"),
            models.Index(fields=["local_hour"], name="scene_local_hour"),
            models.Index(
                fields=["start_time", "id"],
                name="scene_with_diseng_start_id",
                condition=Q(disengagement_count__gt=0),
            ),
            # Scenes of outage days, newest first: with scene_gnss_fix_rate it answers
            # `quality=flagged`, and a day that stops being an outage day finds its scenes
            # here instead of reading the whole day.
            models.Index(
                F("start_time").desc(),
                F("id").desc(),
                name="scene_outage_start_id",
                condition=Q(gnss_outage=True),
            ),
            GinIndex(fields=["tags"], name="scene_tags_gin"),
            GinIndex(fields=["track_cells"], name="scene_track_cells_gin"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["scene_id"], name="scene_scene_id_unique"),
            models.CheckConstraint(condition=Q(duration_s__gt=0), name="scene_duration_positive"),
            models.CheckConstraint(
                condition=Q(local_hour__gte=0, local_hour__lte=23), name="scene_local_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(end_time__gte=F("start_time")), name="scene_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(gnss_fix_rate__isnull=True)
                | Q(gnss_fix_rate__gte=0, gnss_fix_rate__lte=1),
                name="scene_gnss_fix_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(disengagement_count__gte=0), name="scene_disengagements_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return self.scene_id


class GnssVehicleDay(models.Model):
    """A vehicle's scenes on one local day (CATALOG_TIMEZONE): how many, and the sum and
    count of their known GNSS fix rates. The GNSS gate reads these instead of scanning
    scenes; catalog.quality_upkeep keeps them in step with every scene ingest writes.

    No CHECK on the counts: a scene written outside ingest (the admin, a shell) is missed
    until `manage.py quality_refresh`, and ingest must not fail on such a drift.
    """

    day = models.DateField()
    # No index of its own: the unique (day, vehicle) index serves every read by day.
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="+", db_index=False)
    scenes = models.IntegerField()
    fix_rate_sum = models.FloatField()
    fix_rate_known = models.IntegerField()  # scenes with a known fix rate

    class Meta:
        constraints = [
            # Covering: a report reads a window of days from the index alone.
            models.UniqueConstraint(
                fields=["day", "vehicle"],
                include=["scenes", "fix_rate_sum", "fix_rate_known"],
                name="gnssvehicleday_unique",
            ),
        ]


class SceneSignals(models.Model):
    """All 10 Hz channels of a scene in one row, so a plot loads in one query.

    `data` is little-endian float32, channel-major (`len(channels) * samples` values);
    missing samples are NaN. Compact to write in bulk and cheap to decode with numpy.
    """

    scene = models.OneToOneField(
        Scene, on_delete=models.CASCADE, primary_key=True, related_name="signals"
    )
    hz = models.FloatField()
    samples = models.IntegerField()
    channels = ArrayField(models.CharField(max_length=32))
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(hz__gt=0), name="signals_hz_positive"),
            models.CheckConstraint(condition=Q(samples__gte=0), name="signals_samples_nonneg"),
        ]


class Disengagement(models.Model):
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="disengagements")
    t_s = models.FloatField()
    kind = models.CharField(max_length=DISENGAGEMENT_KIND_MAX)

    class Meta:
        ordering = ["scene", "t_s"]
        indexes = [models.Index(fields=["kind"], name="diseng_kind")]
        constraints = [
            models.CheckConstraint(condition=Q(t_s__gte=0), name="diseng_t_nonneg"),
        ]


class Job(models.Model):
    """A long-running piece of work (ingest, embedding, export) whose progress users poll."""

    class Kind(models.TextChoices):
        INGEST = "ingest"
        EMBED = "embed"
        EXPORT = "export"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    done = models.IntegerField(default=0)
    total = models.IntegerField(null=True)
    error = models.TextField(blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff have it implicitly (api.jobs); grant it to others through the admin.
        permissions = [("ingest_manifest", "Can ingest manifests through the HTTP API")]
        indexes = [models.Index(fields=["kind", "state"], name="job_kind_state")]
        constraints = [
            models.CheckConstraint(condition=Q(done__gte=0), name="job_done_nonneg"),
        ]


class IngestedManifest(models.Model):
    """A manifest the watched location (CATALOG_INGEST_WATCH_URI) offered, by URI and
    content hash: one row per content, so an unchanged re-upload is known and a changed
    one is not. The unique (uri, sha256) constraint is what lets any number of watch
    ticks and workers race to claim a manifest with exactly one winner."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    uri = models.TextField()
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    # What the listing showed when the content was hashed (S3 ETag, or size, mtime and
    # inode of a local file): a listing showing it again needs no second read.
    fingerprint = models.CharField(max_length=200, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    attempts = models.IntegerField(default=0)
    error = models.TextField(blank=True, default="")
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    discovered_at = models.DateTimeField(auto_now_add=True)
    # When this content was last claimed for ingestion: the newest claim of a URI is its
    # current content (A -> B -> A ingests A again).
    claimed_at = models.DateTimeField()
    ingested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                F("ingested_at").desc(nulls_first=True), F("id").desc(), name="manifest_newest"
            ),
            models.Index(
                fields=["state"],
                name="manifest_unfinished",
                condition=Q(state__in=["queued", "running", "failed"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["uri", "sha256"], name="manifest_unique_content"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="manifest_sha256_hex"
            ),
            models.CheckConstraint(
                condition=Q(inserted__gte=0, updated__gte=0, rejected__gte=0, attempts__gte=0),
                name="manifest_counts_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return self.uri
