"""Scene sets (live, editable), their frozen versions (immutable), saved searches and
standing queries (a saved search's watch over new data, and the hits it found).

A set's items point at live scenes. A version copies, at freeze time, every value its
manifest needs into `SceneSetVersionItem` rows, so re-ingesting a scene or deleting the
set never changes a frozen manifest. The database refuses UPDATE/DELETE of sealed
versions and of version items (triggers in migration 0002), whatever code runs.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from catalog.limits import SCENE_ID_MAX, TAG_MAX, VEHICLE_ID_MAX
from catalog.models import Scene
from curation.limits import LABEL_MAX, NAME_MAX


class SceneSet(models.Model):
    name = models.CharField(max_length=NAME_MAX)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scene_sets"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft delete: the set disappears from lists and detail, but its versions stay
    # downloadable because training runs refer to them by URL.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(F("updated_at").desc(), name="sceneset_updated_desc")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=Q(deleted_at__isnull=True),
                name="sceneset_unique_live_name_per_owner",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="sceneset_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class SceneSetItem(models.Model):
    """A scene in a set, with who added it, when, from which search, and an annotation."""

    # No separate index: the unique (scene_set, scene) index leads with scene_set.
    scene_set = models.ForeignKey(
        SceneSet, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    # The search body that found the scene (null when added by id) and the embedding
    # model that ran it: recorded so a version can say how its scenes were chosen.
    query = models.JSONField(null=True, blank=True)
    query_model = models.CharField(max_length=200, blank=True, default="")
    note = models.TextField(blank=True, default="")
    # A short class name for training ("positive", "negative", ...); exported as the
    # manifest's `label` column from manifest schema 2 on.
    # db_default: raw INSERTs that name no label (older code, other apps) still work.
    label = models.CharField(max_length=LABEL_MAX, blank=True, default="", db_default="")
    t_start_s = models.FloatField(null=True, blank=True)
    t_end_s = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            # The items' order (as added) within a set: pages of a 10^5-item set are one
            # range of it, and counting a set's items reads it alone (index-only).
            models.Index(fields=["scene_set", "id"], name="setitem_set_order"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["scene_set", "scene"], name="setitem_unique_scene"),
            models.CheckConstraint(
                condition=Q(t_start_s__isnull=True) | Q(t_start_s__gte=0),
                name="setitem_t_start_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(t_start_s__isnull=True)
                | Q(t_end_s__isnull=True)
                | Q(t_end_s__gt=F("t_start_s")),
                name="setitem_window_ordered",
            ),
        ]


class SceneSetVersion(models.Model):
    """Version `number` of a set. Written once by `scene_set_freeze` and sealed in the same
    transaction (sha256 + count set); the database refuses any later change."""

    # Manifest layout of this version: a change of columns bumps it, and the exporter
    # keeps producing the old layout (and hence the same bytes) for old versions.
    # 1: the first release's columns; 2: adds `label` (curation.manifest).
    MANIFEST_SCHEMA = 2

    scene_set = models.ForeignKey(SceneSet, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.TextField(blank=True, default="")
    manifest_schema = models.PositiveSmallIntegerField(default=MANIFEST_SCHEMA)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when sealed: null only inside the freezing transaction.
    count = models.PositiveIntegerField(null=True)
    sha256 = models.CharField(max_length=64, null=True)
    size_bytes = models.BigIntegerField(null=True)
    # Distinct embedding model names and search bodies that chose the items.
    model_names = models.JSONField(default=list)
    queries = models.JSONField(default=list)
    # The GNSS gate (catalog.quality): whether flagged scenes were kept (null: frozen
    # before the gate existed), and how many items were left out (listed in exclusions).
    include_flagged = models.BooleanField(null=True)
    excluded_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scene_set", "number"], name="version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
            models.CheckConstraint(
                condition=Q(sha256__isnull=True, count__isnull=True, size_bytes__isnull=True)
                | Q(sha256__regex=r"^[0-9a-f]{64}$", count__isnull=False, size_bytes__gte=0),
                name="version_sealed_consistently",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scene_set_id} v{self.number}"


class SceneSetVersionItem(models.Model):
    """One manifest row of a version: a copy of the scene and item at freeze time."""

    # No separate index on version: the unique (version, position) index serves every
    # read. A lone version index would also tempt the planner, before statistics know a
    # new version's size, into scan-and-sort plans for each manifest page.
    version = models.ForeignKey(
        SceneSetVersion, on_delete=models.PROTECT, related_name="items", db_index=False
    )
    position = models.PositiveIntegerField()  # manifest row order, 1-based
    scene_id = models.CharField(max_length=SCENE_ID_MAX)
    vehicle_id = models.CharField(max_length=VEHICLE_ID_MAX)
    drive_id = models.CharField(max_length=128, null=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    duration_s = models.FloatField()
    t_start_s = models.FloatField(null=True)
    t_end_s = models.FloatField(null=True)
    note = models.TextField(default="")
    label = models.CharField(max_length=LABEL_MAX, default="", db_default="")
    cameras = models.JSONField(default=dict)
    tags = ArrayField(models.CharField(max_length=TAG_MAX), default=list)
    local_hour = models.SmallIntegerField()
    max_speed_mps = models.FloatField(null=True)
    mean_speed_mps = models.FloatField(null=True)
    max_decel_mps2 = models.FloatField(null=True)
    gnss_fix_rate = models.FloatField(null=True)
    disengagement_count = models.IntegerField()
    start_lat = models.FloatField(null=True)
    start_lon = models.FloatField(null=True)
    end_lat = models.FloatField(null=True)
    end_lon = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "position"], name="versionitem_unique_position"
            ),
            models.UniqueConstraint(
                fields=["version", "scene_id"], name="versionitem_unique_scene"
            ),
        ]


class SceneSetVersionExclusion(models.Model):
    """An item of the set that the version left out, and why: the scene's quality flags
    at freeze time. Immutable like version items (triggers in migration 0004)."""

    # No separate index on version: the unique (version, scene_id) index serves reads.
    version = models.ForeignKey(
        SceneSetVersion, on_delete=models.PROTECT, related_name="exclusions", db_index=False
    )
    scene_id = models.CharField(max_length=SCENE_ID_MAX)
    reasons = ArrayField(models.CharField(max_length=32))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "scene_id"], name="versionexclusion_unique_scene"
            ),
        ]


class SavedSearch(models.Model):
    """A named search body (the JSON `POST search/` takes), to rerun or add to a set."""

    name = models.CharField(max_length=NAME_MAX)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    search = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedsearch_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="savedsearch_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class StandingQuery(models.Model):
    """A saved search that watches new data (its "watch"): each batch of scenes that
    finishes embedding (or, for a search that needs no vectors, ingest) is searched with
    it, and the hits are recorded, added to `into_set` and posted to `webhook_url`."""

    class RunsOn(models.TextChoices):
        EMBEDDED = "embedded"  # text, an example or moment conditions: needs vectors
        INGESTED = "ingested"  # filters only: can run as soon as the scenes land

    search = models.OneToOneField(
        SavedSearch, on_delete=models.CASCADE, primary_key=True, related_name="watch"
    )
    min_score = models.FloatField(null=True, blank=True)
    # Sets are soft-deleted; a hard-deleted one just ends the adding.
    into_set = models.ForeignKey(
        SceneSet, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    webhook_url = models.TextField(blank=True, default="")
    runs_on = models.CharField(max_length=16, choices=RunsOn.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(min_score__isnull=True) | Q(min_score__gte=-1, min_score__lte=1),
                name="watch_min_score_range",
            ),
        ]


class Hit(models.Model):
    """A scene a standing query found, with the moment and score it matched. One per
    (search, scene): a scene embedded again is not reported again unless its content
    changed (`content_sha256`), and then this row is updated and reported anew."""

    # No index of its own: hit_search_found leads with the search.
    search = models.ForeignKey(
        SavedSearch, on_delete=models.CASCADE, related_name="hits", db_index=False
    )
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="+")
    # The sampled frame that matched, by id and not as a foreign key: embedding a scene
    # again keeps its frames' rows, and a moment no longer sampled is simply not found
    # (the scene's representative moment shows instead, as for a filters-only search).
    frame_id = models.BigIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    match = models.JSONField(default=dict, blank=True)
    content_sha256 = models.CharField(max_length=64)
    found_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index("search", F("found_at").desc(), F("id").desc(), name="hit_search_found"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["search", "scene"], name="hit_unique_scene"),
        ]


class WatchInbox(models.Model):
    """Scenes waiting to be looked at by the standing queries, filled by the catalog's
    and the embeddings app's hooks and drained in batches (curation.standing)."""

    class Kind(models.TextChoices):
        EMBEDDED = "embedded"
        INGESTED = "ingested"

    # No index of its own: the unique (scene, kind) index leads with the scene.
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scene", "kind"], name="watchinbox_unique_scene"),
        ]


class WatchRunSchedule(models.Model):
    """One row: when a run over the inbox was last scheduled (null: none pending), so
    that scenes finishing one by one schedule one run per debounce window, not one each."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    scheduled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="watchschedule_single_row")]
