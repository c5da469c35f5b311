"""Links to the web UI in what curation sends out (standing-query notifications).

Curation builds no UI URL itself: the web layer registers how (its AppConfig.ready()),
as it does for media links. Links are made absolute with CATALOG_PUBLIC_URL; without
one they stay paths.
"""

from collections.abc import Callable

from django.conf import settings

SceneLink = Callable[..., str]  # (scene_id, *, camera=None, t_s=None) -> URL path
WatchLink = Callable[[int], str]  # (saved search id) -> URL path of its hits

_scene_link: SceneLink | None = None
_watch_link: WatchLink | None = None


def register_links(*, scene: SceneLink, watch: WatchLink) -> None:
    global _scene_link, _watch_link
    _scene_link, _watch_link = scene, watch


def absolute(path: str | None) -> str | None:
    """`path` (or an already absolute URL) as an absolute URL when a base is known."""
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.CATALOG_PUBLIC_URL + path


def scene_url(scene_id: str, *, camera: str | None = None, t_s: float | None = None) -> str | None:
    if _scene_link is None:
        return None
    return absolute(_scene_link(scene_id, camera=camera, t_s=t_s))


def watch_url(search_id: int) -> str | None:
    if _watch_link is None:
        return None
    return absolute(_watch_link(search_id))
