"""`POST search/`: text, "more like this" and filters (DESIGN §6).

Validation lives in `SearchRequest.from_json` (one definition for the API, the UI and
curation's "add a search to a set"); the serializers here document the shapes.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.errors import NotFound
from embeddings.encoder import EncoderUnavailable
from embeddings.search import MAX_LIMIT, SearchRequest, run_search


class LikeFrameSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    camera = serializers.CharField()
    t_s = serializers.FloatField(min_value=0)


class SearchRequestSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_null=True, max_length=1000)
    like_scene = serializers.CharField(required=False, allow_null=True)
    like_frame = LikeFrameSerializer(required=False, allow_null=True)
    filters = serializers.JSONField(
        required=False, help_text="same names as GET scenes/; repeatable ones are lists"
    )
    cameras = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=50)
    min_score = serializers.FloatField(required=False, allow_null=True, min_value=-1, max_value=1)


class FrameSerializer(serializers.Serializer):
    camera = serializers.CharField()
    t_s = serializers.FloatField()
    thumbnail_url = serializers.CharField(allow_null=True)


class SearchResultSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    score = serializers.FloatField(
        allow_null=True, help_text="cosine similarity of the matched frame (1.0 = identical)"
    )
    frame = FrameSerializer(allow_null=True)
    url = serializers.CharField(help_text="/scenes/<scene_id>?t=<t_s>&camera=<camera>")
    match = serializers.JSONField(
        help_text='how it matched: {"vector": {"rank", "score"}, "tags": [...], "fused"}'
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


class SearchView(APIView):
    parser_classes = [JSONParser]  # the body is JSON (DESIGN §6): lists, numbers, null

    @extend_schema(request=SearchRequestSerializer, responses=SearchResponseSerializer)
    def post(self, request):
        try:
            search = SearchRequest.from_json(request.data)
            response = run_search(search)
        except NotFound as exc:
            raise exceptions.NotFound(str(exc)) from exc
        except EncoderUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(SearchResponseSerializer(response.as_dict()).data)
