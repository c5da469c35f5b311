"""URLs of the web UI's pages, built from its routes: the API links results to them, and
a route changed here changes every link."""

from urllib.parse import urlencode

from django.urls import reverse


def _seconds(t_s: float) -> str:
    return f"{t_s:.3f}".rstrip("0").rstrip(".")


def scene_page_url(scene_id: str, *, camera: str | None = None, t_s: float | None = None) -> str:
    """`/scenes/<scene_id>`, at a moment (`?t=12.5&camera=front_wide`) when given one."""
    url = reverse("frontend:scene", kwargs={"scene_id": scene_id})
    if camera is not None and t_s is not None:
        url += "?" + urlencode({"t": _seconds(t_s), "camera": camera})
    return url
