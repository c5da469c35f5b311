"""`scenes/<scene_id>/duplicates/`: a scene's near-duplicates in the whole catalog."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from embeddings.similarity import NEAR_DUPLICATE_MIN_SCORE, scene_duplicates

MAX_DUPLICATES = 500
DEFAULT_DUPLICATES = 100


class DuplicatesParams(serializers.Serializer):
    min_score = serializers.FloatField(
        min_value=0.5, max_value=1.0, default=NEAR_DUPLICATE_MIN_SCORE
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_DUPLICATES, default=DEFAULT_DUPLICATES
    )


_RESPONSE = inline_serializer(
    "SceneDuplicates",
    {
        "results": inline_serializer(
            "SceneDuplicate",
            {"scene_id": serializers.CharField(), "score": serializers.FloatField()},
            many=True,
        )
    },
)


class SceneDuplicatesView(APIView):
    """The scenes whose whole-scene similarity to this one is at least `min_score` (0.5..1,
    default 0.98), most similar first, at most `limit` (default 100, at most 500). Found
    through the scene-vector index; empty while the scene has no vector."""

    @extend_schema(
        parameters=[
            OpenApiParameter("min_score", float, description="0.5..1, default 0.98"),
            OpenApiParameter("limit", int, description="1..500, default 100"),
        ],
        responses={200: _RESPONSE},
    )
    def get(self, request, scene_id: str):
        params = DuplicatesParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response({"results": scene_duplicates(scene_id=scene_id, **params.validated_data)})
