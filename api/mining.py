"""Mining and clean datasets: `mining/disengagements/`, a version's leakage against
another version, and splitting a set into parts. Thin views over `curation.mining`,
`curation.leakage` and `curation.splits`, which document the rules and bounds."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.curation_views import StrictSerializer, validated
from api.serializers import FrameSerializer
from curation import leakage, mining, selectors, splits
from curation.limits import (
    DEFAULT_LEAKAGE_PAIRS,
    MAX_LEAKAGE_PAIRS,
    MAX_NEGATIVES_PER_POSITIVE,
    MIN_SCORE_FLOOR,
)
from embeddings.similarity import NEAR_DUPLICATE_MIN_SCORE

# --- mining ----------------------------------------------------------------------------------


class MiningInputSerializer(StrictSerializer):
    filters = serializers.DictField(required=False, allow_null=True, default=None)
    kinds = serializers.ListField(
        child=serializers.CharField(), required=False, allow_null=True, default=None
    )
    negatives_per_positive = serializers.IntegerField(
        min_value=0, max_value=MAX_NEGATIVES_PER_POSITIVE, default=mining.DEFAULT_NEGATIVES
    )
    into_set = serializers.IntegerField(required=False, allow_null=True, default=None)


class PositiveSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    t_s = serializers.FloatField(help_text="time of the disengagement in the scene")
    kind = serializers.CharField()
    frame = FrameSerializer(allow_null=True, help_text="the sampled frame nearest t_s")


class NegativeSerializer(serializers.Serializer):
    scene_id = serializers.CharField()
    t_s = serializers.FloatField()
    score = serializers.FloatField(help_text="cosine similarity to the positive's frame")
    positive = serializers.IntegerField(help_text="index into positives")
    frame = FrameSerializer()


class MiningResultSerializer(serializers.Serializer):
    positives = PositiveSerializer(many=True)
    negatives = NegativeSerializer(many=True)


class DisengagementMiningView(APIView):
    """Every disengagement of the scenes passing `filters` (of `kinds`, if given) as a
    positive moment, and `negatives_per_positive` (0..10, default 2) hard negatives each:
    moments of scenes without any disengagement, passing the same filters, that look most
    like the positive's frame; no scene appears twice. At most 1,000 disengagements per
    request (400 naming `filters` beyond: narrow them). With `into_set`, every scene is
    added to that set (yours, or staff) labelled `positive` or `negative`."""

    @extend_schema(request=MiningInputSerializer, responses={200: MiningResultSerializer})
    def post(self, request):
        data = validated(MiningInputSerializer, request.data)
        return Response(mining.mine_disengagements(actor=request.user, **data))


# --- leakage ---------------------------------------------------------------------------------


class LeakageParamsSerializer(serializers.Serializer):
    against = serializers.RegexField(
        r"^\d+:\d+$", help_text="<set_id>:<version number> of the other version"
    )
    within_s = serializers.FloatField(
        min_value=0, max_value=leakage.MAX_WITHIN_S, default=leakage.DEFAULT_WITHIN_S
    )
    min_score = serializers.FloatField(
        min_value=MIN_SCORE_FLOOR, max_value=1.0, default=NEAR_DUPLICATE_MIN_SCORE
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_LEAKAGE_PAIRS, default=DEFAULT_LEAKAGE_PAIRS
    )
    offset = serializers.IntegerField(min_value=0, default=0)


_LEAKAGE_RESPONSE = inline_serializer(
    "Leakage",
    {
        "count": serializers.IntegerField(help_text="all leaking pairs"),
        "pairs": inline_serializer(
            "LeakagePair",
            {
                "a": serializers.CharField(help_text="scene id in this version"),
                "b": serializers.CharField(help_text="scene id in the other version"),
                "reasons": serializers.ListField(
                    child=serializers.ChoiceField(choices=leakage.REASONS)
                ),
            },
            many=True,
        ),
        "reasons": serializers.DictField(child=serializers.IntegerField()),
        "leaking_scenes": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
    },
)


class VersionLeakageView(APIView):
    """Pairs of scenes, one in this version (`a`) and one in version `against`
    (`<set_id>:<n>`, `b`), that leak: `same_drive` (same drive, starts within `within_s`,
    default 600 s), `near_duplicate` (whole-scene similarity >= `min_score`, 0.9..1,
    default 0.98) and `same_place` (tracks within 30 m). `count` counts every pair;
    `pairs` lists `limit` of them (default 1,000, at most 10,000) from `offset`, by `a`
    then `b`. Each version may hold up to 200,000 scenes."""

    @extend_schema(
        parameters=[
            OpenApiParameter("against", str, required=True, description="<set_id>:<n>"),
            OpenApiParameter("within_s", float, description="0..604800, default 600"),
            OpenApiParameter("min_score", float, description="0.9..1, default 0.98"),
            OpenApiParameter("limit", int, description="1..10000, default 1000"),
            OpenApiParameter("offset", int, description="default 0"),
        ],
        responses={200: _LEAKAGE_RESPONSE},
    )
    def get(self, request, set_id: int, number: int):
        version = selectors.version_get(scene_set_id=set_id, number=number)
        params = validated(LeakageParamsSerializer, request.query_params)
        against = leakage.resolve_version(params.pop("against"))
        report = leakage.version_leakage(version=version, against=against, **params)
        return Response(report.as_dict())


# --- splits ----------------------------------------------------------------------------------


class SplitInputSerializer(StrictSerializer):
    parts = serializers.DictField(child=serializers.FloatField())
    seed = serializers.IntegerField(min_value=0, max_value=splits.MAX_SEED, default=0)
    by_place = serializers.BooleanField(default=False)
    min_score = serializers.FloatField(
        min_value=MIN_SCORE_FLOOR, max_value=1.0, default=NEAR_DUPLICATE_MIN_SCORE
    )


_SPLIT_RESPONSE = inline_serializer(
    "Split",
    {
        "sets": inline_serializer(
            "SplitPart",
            {
                "part": serializers.CharField(),
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "count": serializers.IntegerField(),
            },
            many=True,
        ),
        "groups": inline_serializer(
            "SplitGroups",
            {"count": serializers.IntegerField(), "largest": serializers.IntegerField()},
        ),
        "left_out": inline_serializer(
            "SplitLeftOut",
            {
                "count": serializers.IntegerField(),
                "on_borders": serializers.IntegerField(),
                "group_elsewhere": serializers.IntegerField(),
            },
        ),
    },
)


class SceneSetSplitView(APIView):
    """Split the set into new sets, one per part (`{"train": 0.8, "val": 0.2}`: 2..10
    parts, fractions adding up to 1), named "<name> / <part>" and owned by you. Scenes of
    one drive and near-duplicates (whole-scene similarity >= `min_score`, default 0.98)
    always land in one part; sizes follow the fractions as far as these groups allow; the
    same `seed` gives the same split. With `by_place`, each part is also an area of the
    map (tiles of ~1 km) and no scene of one part passes within 30 m of a scene of
    another: scenes on a border between areas, and scenes of a drive that lie in another
    part's area than most of the drive, are left out (`left_out`, by reason); scenes
    without a usable track (no GNSS, beyond 80 degrees of latitude) go with their drive.
    Items keep their labels and notes. Sets of up to 200,000 items."""

    @extend_schema(request=SplitInputSerializer, responses={201: _SPLIT_RESPONSE})
    def post(self, request, set_id: int):
        data = validated(SplitInputSerializer, request.data)
        split = splits.scene_set_split(scene_set_id=set_id, actor=request.user, **data)
        return Response(split.as_dict(), status=status.HTTP_201_CREATED)
