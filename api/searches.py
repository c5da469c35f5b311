"""Saved searches and their standing queries (watches).

Thin views: validate the request, call one service or selector, serialize. Any signed-in
user reads; only a search's owner or staff changes it.
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from api.curation_views import (
    CurationListView,
    CurationView,
    StrictSerializer,
    owner_param,
    validated,
)
from curation import selectors, services
from curation.access import can_edit
from curation.limits import NAME_MAX
from curation.webhooks import redacted


class WatchSerializer(serializers.Serializer):
    """A saved search's standing query. Its webhook URL is a secret (whoever has it can
    post there): only those who may edit the search see it whole."""

    min_score = serializers.FloatField(allow_null=True)
    into_set = serializers.IntegerField(source="into_set_id", allow_null=True)
    webhook_url = serializers.SerializerMethodField()
    runs_on = serializers.CharField(help_text="embedded: after embedding; ingested: after ingest")
    last_run_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)

    def get_webhook_url(self, watch) -> str | None:
        if not watch.webhook_url:
            return None
        return watch.webhook_url if self.context.get("can_edit") else redacted(watch.webhook_url)


class SavedSearchSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    owner = serializers.CharField(source="owner.username", read_only=True)
    search = serializers.JSONField()
    watch = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    can_edit = serializers.SerializerMethodField()

    @extend_schema_field(WatchSerializer(allow_null=True))
    def get_watch(self, saved) -> dict | None:
        watch = getattr(saved, "watch", None)
        if watch is None:
            return None
        context = {**self.context, "can_edit": self.get_can_edit(saved)}
        return WatchSerializer(watch, context=context).data

    def get_can_edit(self, saved) -> bool:
        return can_edit(self.context["request"].user, saved)


class SavedSearchInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX)
    search = serializers.DictField()
    watch = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='a standing query over new data: {"min_score": float | null, '
        '"into_set": set id | null, "webhook_url": url | null}; replaces the whole watch; '
        "null turns it off",
    )


@extend_schema_view(
    get=extend_schema(parameters=[OpenApiParameter("owner", str, description="`me` for yours")])
)
class SavedSearchListView(CurationListView):
    """Saved searches (name + search body); POST saves one you own."""

    serializer_class = SavedSearchSerializer

    def get_queryset(self):
        return selectors.saved_search_list(owner_username=owner_param(self.request))

    @extend_schema(request=SavedSearchInputSerializer, responses={201: SavedSearchSerializer})
    def post(self, request):
        data = validated(SavedSearchInputSerializer, request.data)
        saved = services.saved_search_create(owner=request.user, **data)
        return Response(self.get_serializer(saved).data, status=status.HTTP_201_CREATED)


class SavedSearchDetailView(CurationView):
    """A saved search; PATCH/DELETE by its owner or staff."""

    serializer_class = SavedSearchSerializer

    def get(self, request, search_id: int):
        saved = selectors.saved_search_get(saved_search_id=search_id)
        return Response(self.get_serializer(saved).data)

    @extend_schema(request=SavedSearchInputSerializer)
    def patch(self, request, search_id: int):
        data = validated(SavedSearchInputSerializer, request.data, partial=True)
        saved = services.saved_search_update(saved_search_id=search_id, actor=request.user, **data)
        return Response(self.get_serializer(saved).data)

    @extend_schema(responses={204: None})
    def delete(self, request, search_id: int):
        services.saved_search_delete(saved_search_id=search_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
