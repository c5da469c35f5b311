"""A saved search's watch (its standing query): what `"watch"` in `POST/PATCH
searches/` may hold, and saving it.

`{"min_score": float | null, "into_set": set id | null, "webhook_url": url | null}`; the
object replaces the whole watch (a key left out is null) and `"watch": null` turns it off
(the hits found so far stay). Errors name the field (`watch.into_set`, ...):
- `min_score` overrides the search's own for the watch (a cosine, -1..1);
- `into_set` must be a live set that the search's owner may edit (`can_edit`);
- `webhook_url` must pass `curation.webhooks.check_url` (allowed hosts only).
"""

from typing import Any

from catalog.errors import InvalidInput
from curation.access import can_edit
from curation.models import SavedSearch, SceneSet, StandingQuery
from curation.webhooks import WebhookRefused, check_url
from embeddings.search import SearchRequest

FIELDS = ("min_score", "into_set", "webhook_url")


def clean_watch(raw: Any, *, owner) -> dict | None:
    """The watch settings in `raw`, checked for a search owned by `owner`."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput({"watch": 'expected {"min_score", "into_set", "webhook_url"} or null'})
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidInput({f"watch.{name}": "unknown field" for name in unknown})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {"min_score": None, "into_set": None, "webhook_url": ""}
    for name, check in (
        ("min_score", _min_score),
        ("into_set", lambda value: _into_set(value, owner)),
        ("webhook_url", _webhook_url),
    ):
        try:
            cleaned[name] = check(raw.get(name))
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned


def _min_score(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise InvalidInput({"watch.min_score": "expected a cosine similarity between -1 and 1"})
    return float(value)


def _into_set(value: Any, owner) -> SceneSet | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput({"watch.into_set": "expected a scene set id"})
    scene_set = SceneSet.objects.filter(pk=value, deleted_at__isnull=True).first()
    if scene_set is None:
        raise InvalidInput({"watch.into_set": f"scene set {value} does not exist"})
    if not can_edit(owner, scene_set):
        raise InvalidInput(
            {"watch.into_set": "the search's owner may not edit this set (owner or staff only)"}
        )
    return scene_set


def _webhook_url(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return check_url(value)
    except WebhookRefused as exc:
        raise InvalidInput({"watch.webhook_url": str(exc)}) from None


def runs_on(search: dict) -> str:
    """When a watch over `search` (a valid body) runs: after embedding when it ranks or
    tests vectors, right after ingest when it only filters scenes."""
    request = SearchRequest.from_json(search)
    if request.has_vector_query or request.at_moment:
        return StandingQuery.RunsOn.EMBEDDED
    return StandingQuery.RunsOn.INGESTED


def watch_apply(saved: SavedSearch, watch: dict | None) -> StandingQuery | None:
    """Save (or with None, remove) the watch of `saved`, a row the caller has locked
    inside its transaction, with settings from `clean_watch`."""
    if watch is None:
        StandingQuery.objects.filter(search=saved).delete()
        return None
    standing, _ = StandingQuery.objects.update_or_create(
        search=saved,
        defaults={**watch, "runs_on": runs_on(saved.search), "last_error": ""},
    )
    return standing


def watch_follow_search(saved: SavedSearch) -> None:
    """The search body changed: its watch runs on what the new body needs."""
    StandingQuery.objects.filter(search=saved).update(runs_on=runs_on(saved.search))
