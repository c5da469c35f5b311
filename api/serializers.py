"""Shapes that several endpoints share: a sampled moment and a scene's summary."""

from rest_framework import serializers

from catalog.quality import FLAGS


class MomentSignalsSerializer(serializers.Serializer):
    """The vehicle's state at the moment, interpolated from the 10 Hz signals (null where
    the scene lacks the channel or, for disengagement_dt_s, has no disengagement)."""

    speed_mps = serializers.FloatField(allow_null=True)
    accel_mps2 = serializers.FloatField(allow_null=True)
    brake = serializers.FloatField(allow_null=True)
    throttle = serializers.FloatField(allow_null=True)
    steering_angle_deg = serializers.FloatField(allow_null=True)
    disengagement_dt_s = serializers.FloatField(
        allow_null=True, help_text="seconds to the scene's nearest disengagement"
    )


class FrameSerializer(serializers.Serializer):
    camera = serializers.CharField()
    t_s = serializers.FloatField()
    thumbnail_url = serializers.CharField(allow_null=True)
    signals = MomentSignalsSerializer()


class DisengagementSerializer(serializers.Serializer):
    t_s = serializers.FloatField()
    kind = serializers.CharField()


class QualityFlagsField(serializers.ListField):
    """The scene's data-quality flags (empty: none): `gnss_low` (fix rate below
    CATALOG_GNSS_MIN_FIX_RATE), `gnss_outage` (its local day is a fleet-wide GNSS outage
    day)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.ChoiceField(choices=FLAGS), **kwargs)


class SceneSummarySerializer(serializers.Serializer):
    """What a result says about its scene, so clients need no request per result."""

    scene_id = serializers.CharField()
    vehicle_id = serializers.CharField()
    drive_id = serializers.CharField(allow_null=True)
    start_time = serializers.DateTimeField()
    duration_s = serializers.FloatField()
    local_hour = serializers.IntegerField()
    max_speed_mps = serializers.FloatField(allow_null=True)
    mean_speed_mps = serializers.FloatField(allow_null=True)
    gnss_fix_rate = serializers.FloatField(allow_null=True)
    disengagement_count = serializers.IntegerField()
    disengagements = DisengagementSerializer(many=True)
    tags = serializers.ListField(child=serializers.CharField())
    start_lat = serializers.FloatField(allow_null=True)
    start_lon = serializers.FloatField(allow_null=True)
    quality_flags = QualityFlagsField()
