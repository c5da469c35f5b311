"""Sampled frames and their CLIP vectors, one per (frame, model).

Vectors are stored as `halfvec` without a fixed dimension so models of different widths
can share the table; each model gets its own partial HNSW index over
`embedding::halfvec(dim)` (created when the model is registered), so adding a second
model never touches the first model's vectors or index.
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Abs
from pgvector.django import HalfVectorField

from catalog.limits import CAMERA_NAME_MAX
from catalog.models import Job, Scene


class EmbeddingModel(models.Model):
    """An open_clip model + weights tag: the identity stored with every vector."""

    name = models.CharField(max_length=200, unique=True)  # "<architecture>/<pretrained>"
    architecture = models.CharField(max_length=100)
    pretrained = models.CharField(max_length=200, blank=True, default="")
    dim = models.IntegerField()
    # The kind of its frame HNSW index (embeddings.vector_index): searches walk it with the
    # matching distance.
    frame_index = models.CharField(max_length=16, default="halfvec")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(dim__gt=0), name="model_dim_positive"),
            models.CheckConstraint(
                condition=Q(frame_index__in=["halfvec", "bit"]), name="model_frame_index_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MomentState(models.Model):
    """The vehicle's state at the moment (`catalog.moments`): interpolated from the 10 Hz
    signals when the frame is stored, and again whenever the scene's signals change. Null
    where the scene lacks the channel (or, for `disengagement_dt_s`, has no
    disengagement)."""

    speed_mps = models.FloatField(null=True)
    accel_mps2 = models.FloatField(null=True)
    brake = models.FloatField(null=True)
    throttle = models.FloatField(null=True)
    steering_angle_deg = models.FloatField(null=True)
    disengagement_dt_s = models.FloatField(null=True)  # to the nearest one, absolute

    class Meta:
        abstract = True


class Frame(MomentState):
    """A sampled moment of one camera of one scene, with its thumbnail and the vehicle's
    state at that time."""

    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="frames")
    camera = models.CharField(max_length=CAMERA_NAME_MAX)
    t_s = models.FloatField()
    thumbnail_uri = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["scene", "camera", "t_s"]
        indexes = [
            # Moment conditions: the plan counts the qualifying frames through these, and
            # an exact scan over a selective condition reads only its rows.
            models.Index(fields=["speed_mps"], name="frame_speed"),
            models.Index(fields=["accel_mps2"], name="frame_accel"),
            models.Index(fields=["brake"], name="frame_brake"),
            models.Index(Abs("steering_angle_deg"), name="frame_steering_abs"),
            models.Index(
                fields=["disengagement_dt_s"],
                name="frame_diseng_dt",
                condition=Q(disengagement_dt_s__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["scene", "camera", "t_s"], name="frame_unique_moment"),
            models.CheckConstraint(condition=Q(t_s__gte=0), name="frame_t_nonneg"),
        ]


class FrameEmbedding(models.Model):
    """One vector per (frame, model). `scene` and `camera` are copied from the frame so
    filtered vector search joins scenes without going through frames. The moment's state
    stays on the frame (joined by its key when a search has moment conditions): updating
    it on these rows would re-insert every vector into the HNSW index."""

    frame = models.ForeignKey(Frame, on_delete=models.CASCADE, related_name="embeddings")
    model = models.ForeignKey(EmbeddingModel, on_delete=models.PROTECT, related_name="+")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="+")
    camera = models.CharField(max_length=CAMERA_NAME_MAX)
    embedding = HalfVectorField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["frame", "model"], name="frame_embedding_unique"),
        ]
        indexes = [models.Index(fields=["model", "scene"], name="frame_emb_model_scene")]


class SceneEmbedding(models.Model):
    """Mean of a scene's normalised frame vectors, for scene-to-scene similarity."""

    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="scene_embeddings")
    model = models.ForeignKey(EmbeddingModel, on_delete=models.PROTECT, related_name="+")
    embedding = HalfVectorField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scene", "model"], name="scene_embedding_unique"),
        ]


class SceneEmbeddingState(models.Model):
    """Where a scene stands with a model: pending, done, or failed with the reason."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="embedding_states")
    model = models.ForeignKey(EmbeddingModel, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True, default="")
    # The scene content the vectors were computed from; a changed scene is re-embedded.
    content_sha256 = models.CharField(max_length=64, blank=True, default="")
    attempts = models.IntegerField(default=0)
    # The job waiting for this scene, until the scene is counted towards its progress
    # (exactly once: cleared in the transaction that counts it).
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scene", "model"], name="scene_embed_state_unique"),
        ]
        indexes = [models.Index(fields=["model", "state"], name="embed_state_model_state")]
