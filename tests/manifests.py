"""Builders of scene manifest records (one JSON line per scene) for tests."""

import json
import math
from pathlib import Path

HEIWAJIMA = (35.5786, 139.7497)


def scene_record(index: int = 0, **overrides) -> dict:
    """A valid record: 20 s at 10 Hz, driving north-east from Heiwajima at ~10 m/s."""
    n = 200
    speed = [10.0 + 2.0 * math.sin(i / 15) for i in range(n)]
    lat0, lon0 = HEIWAJIMA
    record = {
        "scene_id": f"veh-07_20261128T0930{index:02d}_{index:03d}",
        "vehicle_id": "veh-07",
        "drive_id": "veh-07_20261128",
        "start_time": f"2026-11-28T09:{30 + index // 3:02d}:{(index % 3) * 20:02d}+09:00",
        "duration_s": 20.0,
        "cameras": {
            "front_wide": f"videos/{index}/front_wide.mp4",
            "rear": f"videos/{index}/rear.mp4",
        },
        "signals": {
            "hz": 10,
            "speed_mps": speed,
            "accel_mps2": [0.0] * n,
            "steering_angle_deg": [0.0] * n,
            "brake": [0.0] * n,
            "throttle": [0.3] * n,
            "lat": [lat0 + i * 1e-5 for i in range(n)],
            "lon": [lon0 + i * 1e-5 for i in range(n)],
            "gnss_fix": [1] * n,
        },
        "disengagements": [],
        "tags": ["urban"],
        "extra": {"route": "osaki-loop"},
    }
    record.update(overrides)
    return record


def write_manifest(path: Path, lines: list) -> Path:
    """Write records (dicts) or raw strings as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as out:
        for line in lines:
            out.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path
