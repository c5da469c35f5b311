"""Splitting by place: each part is an area of the map, and no scene of one part passes
within 30 m of a scene of another.

Linking every pair of scenes that pass the same place does not work for a fleet that
drives one city: every road meets another, and the links join almost every scene into
one group (measured: 10^5 scenes over 16 x 18 km, one group). So places are areas:

1. The map is cut into tiles about `PLACE_TILE_M` wide (`catalog.tiles`); a scene
   touches every tile within 30 m of its track.
2. The tiles are taken in the order of a Hilbert curve (neighbours stay together) from
   a seeded starting point, and cut into runs, one per part, holding the parts'
   fractions of the scenes (each scene counted in the tile of its middle point): each
   part is a few compact areas.
3. A scene whose tiles all lie in one part's area belongs there. A scene touching two
   parts' areas lies on a border and is left out: it is within 30 m of both.
4. Drives and near-duplicates stay whole: each group goes to the part where most of its
   placed scenes lie, and its scenes placed in another part's area are left out (a drive
   that crosses a border keeps the side where most of it was driven).
5. Scenes without a usable track (no GNSS, or beyond 80 degrees of latitude) follow
   their group; a group with none placed goes, largest first (ties to the lower group),
   to the part furthest below its target. Such scenes are not compared by place.

What is left out is reported with its reason; sizes follow the fractions less closely
than a split by drive, since areas hold whole streets.
"""

from dataclasses import dataclass

import numpy as np

from catalog.proximity import PLACE_RADIUS_M, Tracks
from catalog.tiles import hilbert_order, track_tiles

PLACE_TILE_M = 1_000.0
# Rounds of resizing the areas, and how far the kept shares may stay from the fractions.
FIT_ROUNDS = 12
FIT_TOLERANCE = 0.01
BORDER = -2
UNPLACED = -1


@dataclass(frozen=True)
class PlaceSplit:
    """Part index of each item (-1: left out), and how many were left out and why."""

    part: np.ndarray
    on_borders: int
    group_elsewhere: int


def place_parts(
    tracks: Tracks, scenes: np.ndarray, group: np.ndarray, fractions: list[float], *, seed: int
) -> PlaceSplit:
    """Parts for items with scene pks `scenes` and group numbers `group`, by the scenes'
    `tracks` (`catalog.proximity.scene_tracks`)."""
    tiles = _Tiles(tracks, scenes, seed)
    # Areas sized by the scenes in them would leave the smaller parts short: a drive
    # that crosses into a small area mostly lies outside it, and its scenes there are
    # left out. So the areas are resized until the scenes kept follow the fractions.
    target = np.asarray(fractions, dtype=float)
    shares = target.copy()
    best = None
    for _ in range(FIT_ROUNDS):
        split = _resolve(tiles.places(shares), group, fractions)
        kept = np.bincount(split.part[split.part >= 0], minlength=len(fractions))
        # Areas resized so that every placed scene lies on a border keep nothing: the
        # worst fit, never better than an earlier round.
        error = np.abs(kept / kept.sum() - target).max() if kept.sum() else 2.0
        if best is None or error < best[0]:
            best = (error, split)
        if error <= FIT_TOLERANCE or not kept.sum():
            break
        # Damped: an area's kept scenes grow faster than the area.
        shares = shares * np.sqrt(target / np.maximum(kept / kept.sum(), 1e-3))
        shares /= shares.sum()
    return best[1]


def _resolve(place: np.ndarray, group: np.ndarray, fractions: list[float]) -> PlaceSplit:
    """Parts of the items from their places: each group to its majority part."""
    placed = place >= 0
    votes = np.zeros((group.max() + 1, len(fractions)), dtype=np.int64)
    np.add.at(votes, (group[placed], place[placed]), 1)
    voted = votes.sum(axis=1) > 0
    group_part = np.where(voted, votes.argmax(axis=1), -1)
    part = np.where(place == BORDER, -1, group_part[group])
    elsewhere = placed & (part >= 0) & (place != part)
    part[elsewhere] = -1
    free = np.flatnonzero(~voted[group] & (place == UNPLACED))
    _fill_unvoted(part, free, group, fractions)
    return PlaceSplit(part, int((place == BORDER).sum()), int(elsewhere.sum()))


class _Tiles:
    """The items' tiles, read once, placed in areas for any shares of the parts."""

    def __init__(self, tracks: Tracks, scenes: np.ndarray, seed: int) -> None:
        self.tiles = track_tiles(tracks, tile_m=PLACE_TILE_M, buffer_m=PLACE_RADIUS_M)
        self.item = item_positions(scenes, tracks.pks)
        self.items = len(scenes)
        self.placed, self.first = np.unique(self.tiles.pair_scene, return_index=True)
        weight = np.bincount(self.tiles.home[self.tiles.home >= 0], minlength=self.tiles.tiles)
        self.total = int(weight.sum())
        self.along = np.argsort(hilbert_order(self.tiles.column, self.tiles.row), kind="stable")
        before = np.cumsum(weight[self.along]) - weight[self.along]
        offset = int(np.random.default_rng(seed).integers(self.total)) if self.total else 0
        self.middle = (before + weight[self.along] / 2.0 - offset) % max(self.total, 1)

    def places(self, shares: np.ndarray) -> np.ndarray:
        """Each item's part by place: a part index, BORDER or UNPLACED (no usable
        track), with the areas cut along the curve by `shares`."""
        tiles = self.tiles
        tile_part = np.zeros(tiles.tiles, dtype=np.int64)
        cuts = np.cumsum(shares)[:-1] * self.total
        tile_part[self.along] = np.searchsorted(cuts, self.middle, "right")
        # Pairs come scene by scene: each scene's lowest and highest part, segment-wise.
        part = tile_part[tiles.pair_tile]
        lowest = np.minimum.reduceat(part, self.first) if len(part) else part
        highest = np.maximum.reduceat(part, self.first) if len(part) else part
        place = np.full(self.items, UNPLACED, dtype=np.int64)
        place[self.item[self.placed]] = np.where(lowest == highest, lowest, BORDER)
        return place


def item_positions(scenes: np.ndarray, pks: np.ndarray) -> np.ndarray:
    """Where each of `pks` stands in `scenes` (the items' scene pks, each once)."""
    by_pk = np.argsort(scenes)
    return by_pk[np.searchsorted(scenes, pks, sorter=by_pk)]


def _fill_unvoted(part, free: np.ndarray, group, fractions) -> None:
    """The `free` items (unplaced, in groups with no placed scene) by group, largest
    first (ties to the lower group), each group to the part furthest below its target."""
    if not len(free):
        return
    filled = np.bincount(part[part >= 0], minlength=len(fractions)).astype(float)
    targets = np.asarray(fractions) * len(part)
    groups, members = np.unique(group[free], return_counts=True)
    order = np.argsort(-members, kind="stable")
    group_part = {}
    for g in order.tolist():
        chosen = int(np.argmax(targets - filled))
        group_part[int(groups[g])] = chosen
        filled[chosen] += members[g]
    part[free] = [group_part[int(g)] for g in group[free]]
