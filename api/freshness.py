"""Fresh data: `GET status/` (how fresh the catalog is), `GET ingest/manifests/` (what the
watched location brought in) and `GET searches/<id>/hits/` (what a standing query found).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from api.search import SearchResultSerializer
from catalog.selectors import ingested_manifest_list
from curation import selectors as curation_selectors
from embeddings.selectors import catalog_status


class StatusSerializer(serializers.Serializer):
    scenes = serializers.IntegerField(help_text="scenes in the catalog")
    embedded = serializers.IntegerField(help_text="scenes with vectors of the configured model")
    pending_embed = serializers.IntegerField(help_text="scenes waiting to be embedded")
    failed_embed = serializers.IntegerField(help_text="scenes whose embedding failed")
    last_ingest_at = serializers.DateTimeField(allow_null=True, help_text="when scenes last landed")
    watch_uri = serializers.CharField(
        allow_null=True, help_text="CATALOG_INGEST_WATCH_URI; null when not watching"
    )
    model = serializers.CharField(help_text="the configured embedding model")


class StatusView(APIView):
    """How fresh the catalog is, for the UI's status bar and for monitoring. Counts come
    from indexes and table statistics (exact below ~20,000 rows) and are cached for a
    few seconds: cheap to poll at any size."""

    @extend_schema(responses=StatusSerializer)
    def get(self, request):
        return Response(StatusSerializer(catalog_status()).data)


class IngestedManifestSerializer(serializers.Serializer):
    uri = serializers.CharField()
    sha256 = serializers.CharField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    state = serializers.CharField(help_text="queued, running, done or failed")
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    rejected = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    discovered_at = serializers.DateTimeField()
    ingested_at = serializers.DateTimeField(allow_null=True)


class IngestedManifestListView(ListAPIView):
    """Manifests ingested from CATALOG_INGEST_WATCH_URI, newest first (in progress
    first of all). A manifest is ingested once per content: a URI appears again when
    its content changed."""

    serializer_class = IngestedManifestSerializer

    def get_queryset(self):
        return ingested_manifest_list()


class HitSerializer(SearchResultSerializer):
    found_at = serializers.DateTimeField(help_text="when the standing query found it")


class HitsParamsSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="only hits found after this time (RFC 3339)")
        ]
    )
)
class SavedSearchHitsView(ListAPIView):
    """What a saved search's watch found in new data, newest first: each a search result
    plus `found_at`."""

    serializer_class = HitSerializer

    def get_queryset(self):
        params = HitsParamsSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return curation_selectors.saved_search_hits(
            saved_search_id=self.kwargs["search_id"], since=params.validated_data.get("since")
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        results = curation_selectors.hit_results(page)
        return self.get_paginated_response(self.get_serializer(results, many=True).data)
