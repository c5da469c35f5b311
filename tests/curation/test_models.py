"""The database itself refuses changes to frozen versions (migration 0002)."""

import pytest
from django.db import IntegrityError, connection, transaction

from curation import services
from curation.models import SceneSetVersion, SceneSetVersionItem
from tests.curation.helpers import make_scenes, make_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(user):
    scene_set = make_set(user, make_scenes(2))
    return services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)


def _refused(sql: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError as exc:
        return "frozen" in str(exc) or "sealed" in str(exc)
    return False


def test_update_of_version_is_refused(version):
    assert _refused("UPDATE curation_scenesetversion SET note = 'x' WHERE id = %s", [version.pk])


def test_resealing_a_version_is_refused(version):
    assert _refused(
        "UPDATE curation_scenesetversion SET sha256 = repeat('0', 64) WHERE id = %s", [version.pk]
    )


def test_delete_of_version_is_refused(version):
    assert _refused("DELETE FROM curation_scenesetversion WHERE id = %s", [version.pk])


def test_update_of_version_item_is_refused(version):
    assert _refused(
        "UPDATE curation_scenesetversionitem SET note = 'x' WHERE version_id = %s", [version.pk]
    )


def test_delete_of_version_item_is_refused(version):
    assert _refused("DELETE FROM curation_scenesetversionitem WHERE version_id = %s", [version.pk])


def test_orm_update_of_version_is_refused(version):
    with pytest.raises(IntegrityError), transaction.atomic():
        SceneSetVersion.objects.filter(pk=version.pk).update(count=99)


def test_adding_items_to_sealed_version_is_refused(version):
    row = SceneSetVersionItem.objects.filter(version=version).first()
    row.pk, row.position, row.scene_id = None, 99, "smuggled"
    with pytest.raises(IntegrityError, match="sealed"), transaction.atomic():
        row.save()


def test_version_numbers_are_unique_per_set(version):
    with pytest.raises(IntegrityError), transaction.atomic():
        SceneSetVersion.objects.create(
            scene_set=version.scene_set, number=version.number, created_by=version.created_by
        )
