"""factory_boy factories for the domain models, shared by all test modules."""

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model

from catalog.geo import track_cells
from catalog.models import Drive, Scene, Vehicle

TOKYO_START = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle
        django_get_or_create = ("vehicle_id",)

    vehicle_id = factory.Sequence(lambda n: f"veh-{n:02d}")


class DriveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Drive
        django_get_or_create = ("drive_id",)

    vehicle = factory.SubFactory(VehicleFactory)
    drive_id = factory.LazyAttribute(lambda o: f"{o.vehicle.vehicle_id}_20261128")


class SceneFactory(factory.django.DjangoModelFactory):
    """A scene with plausible derived attributes near Oi/Heiwajima (35.58 N, 139.74 E)."""

    class Meta:
        model = Scene

    vehicle = factory.SubFactory(VehicleFactory)
    drive = factory.SubFactory(DriveFactory, vehicle=factory.SelfAttribute("..vehicle"))
    scene_id = factory.Sequence(lambda n: f"scene-{n:05d}")
    start_time = factory.Sequence(lambda n: TOKYO_START + timedelta(seconds=20 * n))
    duration_s = 20.0
    end_time = factory.LazyAttribute(lambda o: o.start_time + timedelta(seconds=o.duration_s))
    local_hour = 9
    cameras = factory.LazyAttribute(
        lambda o: {"front_wide": f"s3://fleet/{o.scene_id}/front_wide.mp4"}
    )
    tags = factory.List([])
    content_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    max_speed_mps = 10.0
    mean_speed_mps = 8.0
    max_decel_mps2 = 1.0
    gnss_fix_rate = 1.0
    disengagement_count = 0
    start_lat = 35.58
    start_lon = 139.74
    end_lat = 35.581
    end_lon = 139.741
    min_lat = 35.58
    max_lat = 35.581
    min_lon = 139.74
    max_lon = 139.741
    track_lat = factory.List([35.58, 35.581])
    track_lon = factory.List([139.74, 139.741])
    track_cells = factory.LazyAttribute(lambda o: track_cells(o.track_lat, o.track_lon))
