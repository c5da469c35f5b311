"""Manifests of scenes with chosen GNSS fix rates, for tests of the GNSS gate."""

from pathlib import Path

from catalog.services import manifest_ingest
from tests.manifests import scene_record, write_manifest

SAMPLES = 200  # 20 s at 10 Hz, as scene_record


def gnss_record(vehicle: str, day: str, k: int, rate: float | None, *, hour: int = 10) -> dict:
    """Scene `k` of `vehicle` on local day `day` (YYYY-MM-DD, Tokyo) at `hour`, with a fix
    rate of `rate` (a multiple of 1/200), or no signals at all (rate None: unknown)."""
    minute, second = divmod(k * 20, 60)
    stamp = f"{day.replace('-', '')}T{hour:02d}{minute:02d}{second:02d}"
    record = scene_record(
        0,
        scene_id=f"{vehicle}_{stamp}_{k:03d}",
        vehicle_id=vehicle,
        drive_id=f"{vehicle}_{day.replace('-', '')}",
        start_time=f"{day}T{hour:02d}:{minute:02d}:{second:02d}+09:00",
    )
    if rate is None:
        del record["signals"]
    else:
        fixes = round(rate * SAMPLES)
        record["signals"] = {
            **record["signals"],
            "gnss_fix": [1] * fixes + [0] * (SAMPLES - fixes),
        }
    return record


def vehicle_day(vehicle: str, day: str, rates: list[float | None], *, hour: int = 10) -> list:
    return [gnss_record(vehicle, day, k, rate, hour=hour) for k, rate in enumerate(rates)]


def ingest(folder: Path, name: str, records: list[dict]):
    """Write `records` as `folder/name.jsonl` and ingest it; the report."""
    report = manifest_ingest(manifest_uri=str(write_manifest(folder / f"{name}.jsonl", records)))
    assert report.rejected == [], report.rejected
    return report
