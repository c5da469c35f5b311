"""`POST search/`: text, "more like this" and filters. The body's shape and its checks
come from one definition (`embeddings.search.request`); the serializers below document
and render the response."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.parsers import JSONParser
from api.serializers import FrameSerializer, SceneSummarySerializer
from embeddings.search import SearchRequest, request_schema, run_search
from frontend.links import scene_page_url


class SearchResultSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    score = serializers.FloatField(
        allow_null=True, help_text="cosine similarity of the matched frame (1.0 = identical)"
    )
    frame = FrameSerializer(allow_null=True, help_text="the moment that matched")
    scene = SceneSummarySerializer()
    url = serializers.SerializerMethodField(help_text="/scenes/<scene_id>?t=<t_s>&camera=<camera>")
    match = serializers.JSONField(
        help_text='how it matched: {"vector": {"rank", "score"}, "tags": [...], "fused"}'
    )
    pattern = serializers.IntegerField(
        required=False, help_text="the id of the pattern it belongs to (with `patterns`)"
    )

    def get_url(self, result) -> str:
        frame = result["frame"] or {}
        return scene_page_url(result["scene_id"], camera=frame.get("camera"), t_s=frame.get("t_s"))


class RepresentativeSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    frame = FrameSerializer(allow_null=True)


class PatternSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    size = serializers.IntegerField()
    scene_ids = serializers.ListField(child=serializers.CharField())
    representative = RepresentativeSerializer(
        allow_null=True, help_text="the result nearest the pattern's centre"
    )


class ModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    dim = serializers.IntegerField(allow_null=True)
    untrained = serializers.BooleanField()


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    model = ModelSerializer(allow_null=True)
    took_ms = serializers.FloatField()
    fusion = serializers.JSONField(help_text='e.g. {"method": "rrf", "k": 60}')
    plan = serializers.JSONField(help_text="the query plan chosen (exact or hnsw) and why")
    patterns = PatternSerializer(many=True, required=False)


class SearchView(APIView):
    parser_classes = [JSONParser]  # lists, numbers and null keep their JSON types

    @extend_schema(
        request={"application/json": request_schema()}, responses=SearchResponseSerializer
    )
    def post(self, request):
        response = run_search(SearchRequest.from_json(request.data))
        return Response(SearchResponseSerializer(response.as_dict()).data)
