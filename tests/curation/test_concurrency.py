"""Concurrent freezes of one set, on separate connections, get distinct version numbers."""

import threading

import pytest
from django.db import connection

from curation import services
from curation.models import SceneSetVersion
from tests.curation.helpers import make_scenes, make_set


@pytest.mark.django_db(transaction=True)
def test_concurrent_freezes_number_versions_one_two(user):
    scene_set = make_set(user, make_scenes(5))
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def freeze():
        try:
            barrier.wait()
            services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=freeze) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = SceneSetVersion.objects.filter(scene_set=scene_set).order_by("number")
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].sha256 == versions[1].sha256
