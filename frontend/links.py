"""URLs of the web UI's pages, built from its routes: the API links results to them, and
a route changed here changes every link."""

from urllib.parse import urlencode

from django.urls import reverse

from catalog.filters import SceneFilters


def _seconds(t_s: float) -> str:
    return f"{t_s:.3f}".rstrip("0").rstrip(".")


def scene_page_url(scene_id: str, *, camera: str | None = None, t_s: float | None = None) -> str:
    """`/scenes/<scene_id>`, at a moment (`?t=12.5&camera=front_wide`) when given one."""
    return _with_moment(reverse("frontend:scene", kwargs={"scene_id": scene_id}), t_s, camera)


def drive_page_url(drive_id: str, *, t_s: float | None = None, camera: str | None = None) -> str:
    """`/drives/<drive_id>`, at `?t=` seconds into the drive (and a camera) when given."""
    return _with_moment(reverse("frontend:drive", kwargs={"drive_id": drive_id}), t_s, camera)


def _with_moment(url: str, t_s: float | None, camera: str | None) -> str:
    params = {}
    if t_s is not None:
        params["t"] = _seconds(t_s)
    if camera:
        params["camera"] = camera
    return f"{url}?{urlencode(params)}" if params else url


def watch_page_url(search_id: int) -> str:
    """The standing queries page, opened at one search's hits."""
    return f"{reverse('frontend:watches')}#search-{int(search_id)}"


def search_page_url(filters: SceneFilters) -> str:
    """`/?<filters>`: the search page, whose URL is the search."""
    query = urlencode(filters.as_query_params(), doseq=True)
    return f"{reverse('frontend:search')}?{query}" if query else reverse("frontend:search")
