"""Mining and clean datasets in a real browser: mine disengagements from the search page,
label set items, add a deduplicated sample, check leakage between versions, split a set."""

import pytest
from django.db import transaction

from curation import services, splits
from curation.models import SceneSet
from tests.curation.helpers import make_set
from tests.curation.mining_support import east_track, look, mining_scene, near
from tests.embeddings.search_support import ensure_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def urban():
    """Two disengagements (one scene each), look-alikes without, and twins."""
    ensure_model()
    left, right = look(1), look(2)
    return {
        "pos_left": mining_scene(left, tags=["urban"], disengagements=[(3.0, "driver_override")]),
        "pos_right": mining_scene(right, tags=["urban"], disengagements=[(1.0, "planner")]),
        "neg_left": mining_scene(near(left, 0.97, seed=1), tags=["urban"]),
        "neg_right": mining_scene(near(right, 0.96, seed=2), tags=["urban"]),
        "twin_a": mining_scene(look(3), tags=["urban", "twins"]),
        "twin_b": mining_scene(look(3), tags=["urban", "twins"]),
        "other": mining_scene(look(4), tags=["urban", "twins"]),
    }


def test_mine_disengagements_into_a_new_set(signed_in, urban):
    page = signed_in
    page.goto("/?tag=urban")
    page.wait_for_selector("#results .card[data-scene-id]")
    page.click("#mine-open")
    page.wait_for_selector("#mine-set[data-loaded=true]")
    assert "tag=urban" in page.locator("#mine-filters").inner_text()
    page.fill("#mine-negatives", "1")
    page.select_option("#mine-set", "__new__")
    page.fill("#mine-new-set-name", "takeovers")
    page.click("#mine-ok")
    page.wait_for_selector(".mining .mined-positive")
    positives = page.locator(".mined-positive").evaluate_all("t => t.map(x => x.dataset.sceneId)")
    assert sorted(positives) == sorted([urban["pos_left"].scene_id, urban["pos_right"].scene_id])
    row = page.locator(
        f'.mined-row:has(.mined-positive[data-scene-id="{urban["pos_left"].scene_id}"])'
    )
    assert (
        row.locator(".mined-negative").get_attribute("data-scene-id") == urban["neg_left"].scene_id
    )
    assert page.locator("#mined-negatives").inner_text() == "2"
    page.locator(".toast a", has_text="takeovers").click()
    page.wait_for_selector("#items .item")
    labels = page.locator("#items .item").evaluate_all(
        "i => i.map(x => [x.dataset.sceneId, x.dataset.label])"
    )
    assert dict(labels) == {
        urban["pos_left"].scene_id: "positive",
        urban["pos_right"].scene_id: "positive",
        urban["neg_left"].scene_id: "negative",
        urban["neg_right"].scene_id: "negative",
    }
    assert page.js_errors == []


def test_set_item_labels_are_edited_in_place(signed_in, user, urban):
    page = signed_in
    scene_set = make_set(user, [urban["twin_a"], urban["other"]], name="to-label")
    page.goto(f"/sets/{scene_set.pk}/")
    field = page.locator(f'.item[data-scene-id="{urban["twin_a"].scene_id}"] input.item-label')
    field.fill("positive")
    field.press("Tab")
    page.wait_for_selector(
        f'.item[data-scene-id="{urban["twin_a"].scene_id}"] input.item-label.saved'
    )
    assert scene_set.items.get(scene=urban["twin_a"]).label == "positive"
    assert page.locator('[data-label-count="positive"]').inner_text() == "positive 1"
    page.reload()
    assert (
        page.locator(
            f'.item[data-scene-id="{urban["twin_a"].scene_id}"] input.item-label'
        ).input_value()
        == "positive"
    )
    too_long = page.locator(f'.item[data-scene-id="{urban["other"].scene_id}"] input.item-label')
    too_long.evaluate("el => el.removeAttribute('maxlength')")
    too_long.fill("x" * 70)
    too_long.press("Tab")
    page.wait_for_selector(".toast-error")
    assert "label" in page.locator(".toast-error").inner_text()
    assert page.js_errors == []


def test_add_selected_scenes_skipping_near_duplicates(signed_in, user, urban):
    page = signed_in
    make_set(user, name="deduped")
    page.goto("/?tag=twins")
    page.wait_for_selector("#results .card[data-scene-id]")
    for scene in (urban["twin_a"], urban["twin_b"], urban["other"]):
        page.locator(f'.card[data-scene-id="{scene.scene_id}"] .select input').check()
    page.click("#add-to-set")
    page.wait_for_selector("#set-choice[data-loaded=true]")
    assert page.locator("#add-mode-selected").is_checked()
    page.check("#set-dedup")
    page.fill("#set-label", "scene")
    page.click("#set-dialog-ok")
    message = page.locator("[data-testid=added-message]")
    message.wait_for()
    assert (
        "Added 2 scenes" in message.inner_text()
        and "skipped 1 near-duplicate" in message.inner_text()
    )
    scene_set = SceneSet.objects.get(name="deduped")
    assert scene_set.items.count() == 2 and set(
        scene_set.items.values_list("label", flat=True)
    ) == {"scene"}


def test_add_a_diverse_sample_of_the_search(signed_in, user, urban):
    page = signed_in
    page.goto("/?tag=twins")
    page.wait_for_selector("#results .card[data-scene-id]")
    page.click("#add-search")
    page.wait_for_selector("#set-choice[data-loaded=true]")
    assert (
        page.locator("#add-mode-sample").is_checked()
        and page.locator("#add-mode-selected").is_disabled()
    )
    page.fill("#sample-n", "3")
    page.select_option("#sample-strategy", "diverse")
    page.select_option("#set-choice", "__new__")
    page.fill("#new-set-name", "diverse")
    page.click("#set-dialog-ok")
    page.locator("[data-testid=added-message]").wait_for()
    scene_ids = set(
        SceneSet.objects.get(name="diverse").items.values_list("scene__scene_id", flat=True)
    )
    # Three asked, two given: the twins are one scene as far as diversity goes.
    assert len(scene_ids) == 2 and urban["other"].scene_id in scene_ids
    assert page.js_errors == []


def test_leakage_panel_lists_pairs_between_two_versions(signed_in, user):
    page = signed_in
    ensure_model()
    shared = mining_scene(look(1))
    twin = mining_scene(look(1))
    here = mining_scene(look(2), track=east_track(35.7, 139.5))
    there = mining_scene(look(3), track=east_track(35.7, 139.5, north_m=15))
    train = make_set(user, [shared, here], name="train")
    val = make_set(user, [twin, there, mining_scene(look(4))], name="val")
    for scene_set in (train, val):
        services.scene_set_freeze(scene_set_id=scene_set.pk, actor=user)
    page.goto(f"/sets/{train.pk}/")
    page.wait_for_selector("#leak-form[data-ready=true]")
    page.select_option("#leak-against-set", str(val.pk))
    page.wait_for_selector("#leak-against-version[data-loaded=true] option", state="attached")
    assert page.locator("#leak-against-version").inner_text() == "v1 · 3 scenes"
    page.click("#leak-check")
    page.wait_for_selector(".leak-summary")
    assert page.locator(".leak-summary").get_attribute("data-count") == "2"
    pairs = page.locator(".leak-pair").evaluate_all(
        "rows => rows.map(r => [r.dataset.a, r.dataset.b, "
        "[...r.querySelectorAll('[data-reason]')].map(b => b.dataset.reason)])"
    )
    assert sorted(map(tuple, [(a, b, tuple(r)) for a, b, r in pairs])) == sorted(
        [
            (shared.scene_id, twin.scene_id, ("near_duplicate",)),
            (here.scene_id, there.scene_id, ("same_place",)),
        ]
    )
    assert page.js_errors == []


def drive_and_singles(user, name: str, drive_id: str, drives: int, singles: int, looks: int):
    """A set of one drive's scenes and single scenes, all looking different (each scene
    at its own spot, ~1 km apart)."""
    ensure_model()
    drive = [mining_scene(look(looks + i), drive=drive_id) for i in range(drives)]
    alone = [mining_scene(look(looks + drives + i)) for i in range(singles)]
    return drive, make_set(user, drive + alone, name=name)


def test_split_dialog_creates_one_set_per_part(signed_in, user):
    page = signed_in
    drive, scene_set = drive_and_singles(user, "all", "veh-b_1", 3, 7, looks=10)
    page.goto(f"/sets/{scene_set.pk}/")
    page.click("#split-open")
    page.locator("#split-parts .split-name").nth(1).fill("holdout")
    page.fill("#split-seed", "5")
    page.click("#split-ok")
    page.wait_for_selector('#split-result a[data-part="holdout"]')
    links = page.locator("#split-result a[data-part]").evaluate_all(
        "a => a.map(x => [x.dataset.part, x.textContent])"
    )
    assert links == [["train", "all / train"], ["holdout", "all / holdout"]]
    train = SceneSet.objects.get(name="all / train")
    holdout = SceneSet.objects.get(name="all / holdout")
    assert (train.items.count(), holdout.items.count()) == (8, 2)
    drive_ids = {s.pk for s in drive}
    assert (
        len(
            {
                part
                for part in (train, holdout)
                if part.items.filter(scene_id__in=drive_ids).exists()
            }
        )
        == 1
    )
    page.locator('#split-result a[data-part="holdout"]').click()
    page.wait_for_selector("#items .item")
    assert page.locator("#items .item").count() == 2
    assert page.js_errors == []


class _Rollback(Exception):
    pass


def _left_out_by_place(scene_set, user, seed: int) -> int:
    """How many scenes a split by place with this seed leaves out (tried, then undone)."""
    try:
        with transaction.atomic():
            result = splits.scene_set_split(
                scene_set_id=scene_set.pk,
                actor=user,
                parts={"train": 0.8, "val": 0.2},
                seed=seed,
                by_place=True,
            )
            raise _Rollback(result.as_dict()["left_out"]["count"])
    except _Rollback as undone:
        return undone.args[0]


def test_split_by_place_says_what_it_left_out(signed_in, user):
    page = signed_in
    # A drive over four spots ~1 km apart (four tiles): some seed cuts it between areas.
    _, scene_set = drive_and_singles(user, "placed", "veh-b_2", 4, 6, looks=30)
    seed, left_out = next(
        (s, n) for s in range(50) if (n := _left_out_by_place(scene_set, user, s))
    )
    page.goto(f"/sets/{scene_set.pk}/")
    page.click("#split-open")
    page.fill("#split-seed", str(seed))
    page.check("#split-by-place")
    page.click("#split-ok")
    page.wait_for_selector("#split-result .split-left-out")
    text = page.locator("#split-result .split-left-out").inner_text()
    assert text.startswith(f"Left out: {left_out} scene")
    kept = sum(s.items.count() for s in SceneSet.objects.filter(name__startswith="placed / "))
    assert kept == 10 - left_out
    assert page.js_errors == []
