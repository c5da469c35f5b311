"""Scene sets, items, frozen versions and manifests.

Thin views: validate the request, call one service or selector, serialize. Any signed-in
user reads; only a set's owner or staff changes it (the services enforce it, so every
caller gets the same rule). Input naming a read-only or unknown field is a 400.
"""

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from api.curation_views import (
    CurationListView,
    CurationView,
    StrictSerializer,
    confirm_flag,
    owner_param,
    validated,
)
from api.pagination import KeysetPagination
from api.serializers import FrameSerializer, QualityFlagsField, SceneSummarySerializer
from catalog.selectors import scene_summaries
from curation import adding, manifest, selectors, services
from curation.access import can_edit
from curation.limits import (
    LABEL_MAX,
    MAX_SCENE_IDS_PER_REQUEST,
    MIN_SCORE_FLOOR,
    NAME_MAX,
    TEXT_MAX,
    check_presign,
    require_confirmation,
)
from embeddings.selectors import representative_frames
from embeddings.similarity import NEAR_DUPLICATE_MIN_SCORE
from frontend.links import scene_page_url

# --- serializers ---------------------------------------------------------------------------


class SceneSetSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField(source="owner.username", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    item_count = serializers.IntegerField(read_only=True)
    version_count = serializers.IntegerField(read_only=True)
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)
    can_edit = serializers.SerializerMethodField()

    def get_can_edit(self, scene_set) -> bool:
        return can_edit(self.context["request"].user, scene_set)


class SceneSetInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX)
    description = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False)


class ItemSerializer(serializers.Serializer):
    scene_id = serializers.CharField(source="scene.scene_id")
    vehicle = serializers.CharField(source="scene.vehicle.vehicle_id")
    start_time = serializers.DateTimeField(source="scene.start_time")
    duration_s = serializers.FloatField(source="scene.duration_s")
    tags = serializers.ListField(source="scene.tags", child=serializers.CharField())
    note = serializers.CharField()
    label = serializers.CharField()
    t_start_s = serializers.FloatField(allow_null=True)
    t_end_s = serializers.FloatField(allow_null=True)
    added_by = serializers.CharField(source="added_by.username", allow_null=True, default=None)
    added_at = serializers.DateTimeField()
    query = serializers.JSONField(allow_null=True)
    query_model = serializers.CharField()
    url = serializers.SerializerMethodField()
    scene = serializers.SerializerMethodField()
    frame = serializers.SerializerMethodField()

    def get_url(self, item) -> str:
        return scene_page_url(item.scene.scene_id)

    @extend_schema_field(SceneSummarySerializer)
    def get_scene(self, item) -> dict | None:
        summary = self.context.get("summaries", {}).get(item.scene_id)
        # One serializer for every item: building one per item (its fields are deep
        # copies) cost more than the rest of a page of items.
        return _SUMMARY.to_representation(summary) if summary else None

    @extend_schema_field(FrameSerializer(allow_null=True))
    def get_frame(self, item) -> dict | None:
        """The moment that stands for the scene (its earliest sampled frame)."""
        return self.context.get("frames", {}).get(item.scene_id)


_SUMMARY = SceneSummarySerializer()


class ItemsAddSerializer(StrictSerializer):
    scene_ids = serializers.ListField(
        child=serializers.CharField(), required=False, max_length=MAX_SCENE_IDS_PER_REQUEST
    )
    search = serializers.DictField(required=False, help_text="a search body, run server-side")
    filters = serializers.DictField(
        required=False, help_text="every scene matching these filters (as in POST search/)"
    )
    sample = serializers.DictField(
        required=False,
        help_text='with search or filters: {"n": 1..10000, "strategy": "diverse" | "random", '
        '"seed": int}; a sampled search may ask for up to 10,000 results',
    )
    dedup = serializers.BooleanField(
        default=False, help_text="skip near-duplicates of items and of earlier scenes"
    )
    dedup_min_score = serializers.FloatField(
        min_value=MIN_SCORE_FLOOR, max_value=1.0, default=NEAR_DUPLICATE_MIN_SCORE
    )
    label = serializers.CharField(
        max_length=LABEL_MAX, allow_blank=True, default="", help_text="label of the new items"
    )
    confirm = serializers.BooleanField(
        default=False, help_text="needed for filters matching more than the scene limit"
    )

    def validate(self, attrs):
        given = [name for name in ("scene_ids", "search", "filters") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"scene_ids": ["send exactly one of scene_ids, search or filters"]}
            )
        return attrs


class ItemsRemoveSerializer(StrictSerializer):
    scene_ids = serializers.ListField(
        child=serializers.CharField(), max_length=MAX_SCENE_IDS_PER_REQUEST
    )


class ItemAnnotateSerializer(StrictSerializer):
    note = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False)
    label = serializers.CharField(max_length=LABEL_MAX, allow_blank=True, required=False)
    t_start_s = serializers.FloatField(allow_null=True, required=False)
    t_end_s = serializers.FloatField(allow_null=True, required=False)


class VersionSerializer(serializers.Serializer):
    set = serializers.IntegerField(source="scene_set_id")
    version = serializers.IntegerField(source="number")
    count = serializers.IntegerField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    models = serializers.ListField(source="model_names", child=serializers.CharField())
    queries = serializers.JSONField()
    manifest_schema = serializers.IntegerField()
    manifest_urls = serializers.SerializerMethodField()
    include_flagged = serializers.BooleanField(
        allow_null=True,
        help_text="scenes with quality flags were kept (null: frozen before the GNSS gate)",
    )
    excluded_count = serializers.IntegerField(
        help_text="items left out for their quality flags (not in the manifest)"
    )

    def get_manifest_urls(self, version) -> dict[str, str]:
        path = reverse(
            "api:set-version-manifest",
            kwargs={"set_id": version.scene_set_id, "number": version.number},
        )
        url = self.context["request"].build_absolute_uri(path)
        return {fmt: f"{url}?format={fmt}" for fmt in manifest.FORMATS}


class ExclusionSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    reasons = QualityFlagsField(help_text="the scene's quality flags when frozen")


# A version's detail lists this many exclusions; `excluded_url` pages through all.
EXCLUSIONS_SHOWN = 100


class VersionDetailSerializer(VersionSerializer):
    excluded = serializers.SerializerMethodField()
    excluded_url = serializers.SerializerMethodField()

    @extend_schema_field(ExclusionSerializer(many=True))
    def get_excluded(self, version) -> list[dict]:
        """The first 100 items left out, by scene id (every one: `excluded_url`)."""
        rows = selectors.version_exclusions(version=version)[:EXCLUSIONS_SHOWN]
        return ExclusionSerializer(rows, many=True).data

    def get_excluded_url(self, version) -> str:
        """Every item left out, paginated like the other lists."""
        path = reverse(
            "api:set-version-excluded",
            kwargs={"set_id": version.scene_set_id, "number": version.number},
        )
        return self.context["request"].build_absolute_uri(path)


class FreezeSerializer(StrictSerializer):
    note = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="")
    confirm = serializers.BooleanField(default=False)
    include_flagged = serializers.BooleanField(
        default=False,
        help_text="keep scenes with quality flags (gnss_low, gnss_outage); by default they "
        "are left out and listed in the version's `excluded`",
    )


class ManifestParamsSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=manifest.FORMATS, default="jsonl")
    presign = serializers.IntegerField(
        min_value=1, max_value=manifest.MAX_PRESIGN_S, required=False
    )
    confirm = serializers.BooleanField(default=False)


class DiffParamsSerializer(serializers.Serializer):
    against = serializers.IntegerField(min_value=1)


# --- views ---------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("owner", str, description="only this user's sets; `me` for yours"),
            OpenApiParameter("q", str, description="name contains (case-insensitive)"),
        ]
    )
)
class SceneSetListView(CurationListView):
    """Scene sets (live ones), most recently changed first; POST creates one you own."""

    serializer_class = SceneSetSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.scene_set_list(owner_username=owner_param(self.request), q=params.get("q"))

    @extend_schema(request=SceneSetInputSerializer, responses={201: SceneSetSerializer})
    def post(self, request):
        data = validated(SceneSetInputSerializer, request.data)
        created = services.scene_set_create(owner=request.user, **data)
        scene_set = selectors.scene_set_get(scene_set_id=created.pk)
        return Response(self.get_serializer(scene_set).data, status=status.HTTP_201_CREATED)


class SceneSetDetailView(CurationView):
    """A scene set. PATCH renames or describes it; DELETE hides it, but its versions stay
    downloadable. Changes: owner or staff only."""

    serializer_class = SceneSetSerializer

    def get(self, request, set_id: int):
        return Response(self.get_serializer(self.scene_set(set_id)).data)

    @extend_schema(request=SceneSetInputSerializer)
    def patch(self, request, set_id: int):
        data = validated(SceneSetInputSerializer, request.data, partial=True)
        services.scene_set_update(scene_set_id=set_id, actor=request.user, **data)
        return Response(self.get_serializer(self.scene_set(set_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, set_id: int):
        services.scene_set_delete(scene_set_id=set_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SceneSetItemsView(CurationListView):
    """The set's scenes, in the order added, with who added each, when, from which search,
    and their label (`?label=` lists one label's items).

    POST adds by `scene_ids` (unknown ids: 400, nothing added), from a `search` body run
    server-side (its `limit`, at most 500), or every scene matching `filters` (server-side,
    any number; over CATALOG_MAX_UNCONFIRMED_SCENES needs `confirm`). `sample` takes n of
    a search's or the filters' scenes, `diverse` (far apart in CLIP space, never two
    near-duplicates) or `random` (seeded); `dedup` skips near-duplicates of items already
    in the set and of scenes added earlier in the request (`dedup_min_score`, default
    0.98), listed in `skipped_duplicates`; `label` labels the new items. Adding is
    idempotent. DELETE removes `scene_ids`."""

    serializer_class = ItemSerializer
    # Sets reach 10^5 items: pages by cursor, counts exact up to a cap (see KeysetPagination).
    pagination_class = KeysetPagination

    @extend_schema(parameters=[OpenApiParameter("label", str, description="only this label")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        scene_set = selectors.scene_set_live(scene_set_id=self.kwargs["set_id"])
        return selectors.scene_set_items(
            scene_set=scene_set, label=self.request.query_params.get("label")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        pks = [item.scene_id for item in page]
        context = {
            **self.get_serializer_context(),
            "summaries": scene_summaries(scene_pks=pks),
            "frames": representative_frames(scene_pks=pks),
        }
        return self.get_paginated_response(ItemSerializer(page, many=True, context=context).data)

    @extend_schema(request=ItemsAddSerializer, responses={200: dict})
    def post(self, request, set_id: int):
        data = validated(ItemsAddSerializer, request.data)
        data["confirm"] = data["confirm"] or confirm_flag(request)
        result = adding.scene_set_add_items(scene_set_id=set_id, actor=request.user, **data)
        return Response(result.as_dict())

    @extend_schema(request=ItemsRemoveSerializer, responses={200: dict})
    def delete(self, request, set_id: int):
        data = validated(ItemsRemoveSerializer, request.data)
        result = services.scene_set_remove_scenes(
            scene_set_id=set_id, actor=request.user, scene_ids=data["scene_ids"]
        )
        return Response(vars(result))


class SceneSetItemDetailView(CurationView):
    """One item; PATCH sets its `note`, `label` (<= 64 characters, one line; "" clears) and
    time window (`t_start_s`/`t_end_s` within the scene)."""

    serializer_class = ItemSerializer

    def get(self, request, set_id: int, scene_id: str):
        item = selectors.scene_set_item_get(scene_set=self.scene_set(set_id), scene_id=scene_id)
        return Response(self.get_serializer(item).data)

    @extend_schema(request=ItemAnnotateSerializer)
    def patch(self, request, set_id: int, scene_id: str):
        data = validated(ItemAnnotateSerializer, request.data, partial=True)
        services.scene_set_item_annotate(
            scene_set_id=set_id, actor=request.user, scene_id=scene_id, **data
        )
        item = selectors.scene_set_item_get(scene_set=self.scene_set(set_id), scene_id=scene_id)
        return Response(self.get_serializer(item).data)


class VersionListView(CurationListView):
    """Frozen versions; POST freezes the current items into version n+1 (`confirm=true` needed
    over CATALOG_MAX_UNCONFIRMED_SCENES)."""

    serializer_class = VersionSerializer

    def get_queryset(self):
        return selectors.version_list(scene_set=self.scene_set(self.kwargs["set_id"]))

    @extend_schema(
        request=FreezeSerializer,
        responses={201: VersionDetailSerializer},
        parameters=[OpenApiParameter("confirm", bool, description="needed over the limit")],
    )
    def post(self, request, set_id: int):
        data = validated(FreezeSerializer, request.data)
        created = services.scene_set_freeze(
            scene_set_id=set_id,
            actor=request.user,
            note=data["note"],
            confirm=data["confirm"] or confirm_flag(request),
            include_flagged=data["include_flagged"],
        )
        version = selectors.version_get(scene_set_id=set_id, number=created.number)
        context = self.get_serializer_context()
        return Response(
            VersionDetailSerializer(version, context=context).data, status=status.HTTP_201_CREATED
        )


class VersionDetailView(CurationView):
    """A frozen, immutable version: count, sha256 of its jsonl manifest, who froze it,
    queries, and the items the GNSS gate left out (`excluded`, the first 100)."""

    serializer_class = VersionDetailSerializer

    def get(self, request, set_id: int, number: int):
        version = selectors.version_get(scene_set_id=set_id, number=number)
        return Response(self.get_serializer(version).data)


class VersionExcludedView(CurationListView):
    """Every item the version left out for its quality flags, by scene id, paginated."""

    serializer_class = ExclusionSerializer

    def get_queryset(self):
        version = selectors.version_get(
            scene_set_id=self.kwargs["set_id"], number=self.kwargs["number"]
        )
        return selectors.version_exclusions(version=version)


class IgnoreFormatParameter(BaseContentNegotiation):
    """`?format=` names the manifest format here, not a DRF renderer: always answer
    errors in JSON (the view's first renderer)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(
    parameters=[
        OpenApiParameter("format", str, enum=manifest.FORMATS, description="default jsonl"),
        OpenApiParameter(
            "presign", int, description="add `camera_urls` (S3 HTTPS URLs valid this many s)"
        ),
        OpenApiParameter("confirm", bool, description="needed over the scene limit"),
    ],
    responses={(200, "application/octet-stream"): bytes},
)
class VersionManifestView(CurationView):
    """The version's manifest, streamed: one row per scene, same columns in jsonl/csv/parquet.

    The jsonl bytes hash to the version's sha256 (`X-Manifest-SHA256`). `presign` adds a
    `camera_urls` column that is not part of the hashed manifest."""

    content_negotiation_class = IgnoreFormatParameter

    def get(self, request, set_id: int, number: int):
        version = selectors.version_get(scene_set_id=set_id, number=number)
        params = validated(ManifestParamsSerializer, request.query_params)
        require_confirmation(action="exporting", count=version.count, confirm=params["confirm"])
        fmt, presign_s = params["format"], params.get("presign")
        if presign_s is not None:
            check_presign(count=version.count)
        response = StreamingHttpResponse(
            manifest.iter_manifest(version, fmt, presign_s=presign_s),
            content_type=manifest.CONTENT_TYPES[fmt],
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{manifest.filename(version, fmt)}"'
        )
        # The sha256 of the canonical jsonl, whatever format is downloaded.
        response["X-Manifest-SHA256"] = version.sha256
        if fmt == "jsonl" and presign_s is None:
            response["Content-Length"] = str(version.size_bytes)
            response["ETag"] = f'"{version.sha256}"'
        return response


class VersionDiffView(CurationView):
    """Scene ids added, removed and changed in this version relative to version `against`."""

    @extend_schema(
        parameters=[OpenApiParameter("against", int, required=True)], responses={200: dict}
    )
    def get(self, request, set_id: int, number: int):
        version = selectors.version_get(scene_set_id=set_id, number=number)
        against_number = validated(DiffParamsSerializer, request.query_params)["against"]
        against = selectors.version_get(scene_set_id=set_id, number=against_number)
        diff = selectors.version_diff(version=version, against=against)
        return Response(
            {
                "version": version.number,
                "against": against.number,
                **{f"{kind}_count": len(ids) for kind, ids in diff.items()},
                **diff,
            }
        )
