"""Shared test helpers for curation and the sets API."""

import hashlib

from curation import manifest, services
from tests.factories import SceneFactory


def make_scenes(n: int, **kwargs) -> list:
    return [SceneFactory(**kwargs) for _ in range(n)]


def make_set(owner, scenes=(), name: str | None = None):
    scene_set = services.scene_set_create(owner=owner, name=name or f"set-{owner.pk}-{id(scenes)}")
    if scenes:
        services.scene_set_add_scenes(
            scene_set_id=scene_set.pk, actor=owner, scene_ids=[s.scene_id for s in scenes]
        )
    return scene_set


def manifest_bytes(version, fmt: str = "jsonl", **kwargs) -> bytes:
    return b"".join(manifest.iter_manifest(version, fmt, **kwargs))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
