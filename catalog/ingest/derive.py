"""Attributes derived from validated signals, for many scenes at once.

Scenes with the same channels, rate and length (in practice: a whole manifest chunk)
are stacked into one (scenes, channels, samples) array, so each statistic is one numpy
call per chunk instead of one per scene: per-call overhead, not arithmetic, is what a
200-sample scene costs.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from catalog.geo import split_rows, track_cells_rows

if TYPE_CHECKING:  # records imports this module to derive its records
    from catalog.ingest.records import SceneRecord


def derive_group(
    recs: Sequence["SceneRecord"], hz: float, names: list[str], stack: np.ndarray
) -> None:
    """Fill the derived attributes of `recs` from `stack[i]` (channels x samples) each."""
    channels = {name: stack[:, i, :] for i, name in enumerate(names)}
    with np.errstate(invalid="ignore"):
        _speed(recs, channels.get("speed_mps"), channels.get("accel_mps2"), hz)
        has_fix = channels["gnss_fix"] > 0 if "gnss_fix" in channels else None  # NaN: no fix
        if has_fix is not None and has_fix.shape[1]:
            rates = (has_fix.sum(axis=1) / has_fix.shape[1]).tolist()
            for rec, rate in zip(recs, rates, strict=True):
                rec.gnss_fix_rate = rate
        if "lat" in channels and "lon" in channels:
            _track(recs, channels["lat"], channels["lon"], has_fix, hz)
    packed = stack.astype("<f4")
    for i, rec in enumerate(recs):
        rec.signals_hz = hz
        rec.signals_samples = stack.shape[2]
        rec.signals_channels = names
        rec.signals_data = packed[i].tobytes()


def _finite_or_nan(values: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    keep = np.isfinite(values) if keep is None else keep
    return np.where(keep, values, np.nan)


def _speed(recs, speed: np.ndarray | None, accel: np.ndarray | None, hz: float) -> None:
    # fmax/fmin reductions skip NaN, and an all-NaN row stays NaN (that scene gets None).
    if speed is not None:
        finite = np.isfinite(speed)
        counts = finite.sum(axis=1).tolist()
        highest = np.fmax.reduce(_finite_or_nan(speed, finite), axis=1).tolist()
        totals = np.where(finite, speed, 0.0).sum(axis=1).tolist()
        for rec, count, high, total in zip(recs, counts, highest, totals, strict=True):
            if count:
                rec.max_speed_mps, rec.mean_speed_mps = high, total / count
    if accel is None and speed is not None and speed.shape[1] > 1:
        accel = np.diff(speed, axis=1) * hz
    if accel is not None and accel.shape[1]:
        lowest = np.fmin.reduce(_finite_or_nan(accel), axis=1).tolist()
        for rec, low in zip(recs, lowest, strict=True):
            if low == low:  # not NaN
                rec.max_decel_mps2 = max(0.0, -low)


def _track(recs, lat: np.ndarray, lon: np.ndarray, has_fix: np.ndarray | None, hz: float) -> None:
    samples = lat.shape[1]
    valid = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)  # False for NaN
    if has_fix is not None:
        valid &= has_fix
    counts = valid.sum(axis=1).tolist()
    if has_fix is None and samples:
        for rec, count in zip(recs, counts, strict=True):
            rec.gnss_fix_rate = count / samples
    if not samples:
        return
    rows = np.arange(len(recs))
    first = valid.argmax(axis=1)
    last = samples - 1 - valid[:, ::-1].argmax(axis=1)
    starts = zip(lat[rows, first].tolist(), lon[rows, first].tolist(), strict=True)
    ends = zip(lat[rows, last].tolist(), lon[rows, last].tolist(), strict=True)
    valid_lat, valid_lon = np.where(valid, lat, np.nan), np.where(valid, lon, np.nan)
    boxes = zip(
        np.fmin.reduce(valid_lat, axis=1).tolist(),
        np.fmax.reduce(valid_lat, axis=1).tolist(),
        np.fmin.reduce(valid_lon, axis=1).tolist(),
        np.fmax.reduce(valid_lon, axis=1).tolist(),
        strict=True,
    )
    tracks = _tracks_1hz(lat, lon, valid, last, max(1, round(hz)))
    for rec, count, start, end, box, track in zip(
        recs, counts, starts, ends, boxes, tracks, strict=True
    ):
        if count:
            rec.start_lat, rec.start_lon = start
            rec.end_lat, rec.end_lon = end
            rec.min_lat, rec.max_lat, rec.min_lon, rec.max_lon = box
            rec.track_lat, rec.track_lon, rec.track_cells = track


def _tracks_1hz(
    lat, lon, valid, last, step: int
) -> list[tuple[list[float], list[float], list[int]]]:
    """Each row's track: every `step`-th valid sample, always keeping the last valid one
    (about one point per second), rounded to 7 decimals, and the grid cells of those
    points. All rows at once: a quarter of real scenes lose the GNSS fix somewhere, and a
    per-row path for them cost more than the rest of the chunk."""
    rank = np.cumsum(valid, axis=1) - 1  # each valid sample's place among its row's
    picked = valid & (rank % step == 0)
    has_any = valid.any(axis=1)
    picked[np.flatnonzero(has_any), last[has_any]] = True
    # The picked points, left-aligned in (rows x most points) arrays for the cells.
    rows, cols = np.nonzero(picked)
    counts = picked.sum(axis=1)
    slots = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    width = int(counts.max()) if len(counts) else 0
    picked_lat, picked_lon = lat[rows, cols].round(7), lon[rows, cols].round(7)
    track_lat, track_lon = np.zeros((2, len(counts), width))
    track_lat[rows, slots], track_lon[rows, slots] = picked_lat, picked_lon
    counts_list = counts.tolist()
    return list(
        zip(
            split_rows(picked_lat.tolist(), counts_list),
            split_rows(picked_lon.tolist(), counts_list),
            track_cells_rows(track_lat, track_lon, np.arange(width) < counts[:, None]),
            strict=True,
        )
    )
