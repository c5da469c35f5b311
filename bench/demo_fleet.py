"""demo_fleet: manifest scenes per second (no video) and seconds per scene with videos.

Each row builds a fresh fleet with `demo.fleet.build_fleet` in a temporary
folder; "CPU s" adds this process and its render workers, so it stays meaningful when
other work shares the machine (the load average is printed before and after).
Targets: >= 5,000 scenes/s manifest-only (the 10^5-scene ingest benchmarks), and 50
scenes (350 videos) in well under a minute on 2 cores (`make run` builds ~40).

    .venv/bin/python bench/demo_fleet.py [--quick] [--manifest-scenes N] [--video-scenes N]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.fleet import build_fleet


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def run(scenes: int, *, video: bool, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_demo_fleet_") as tmp:
        cpu = cpu_seconds()
        started = time.perf_counter()
        report = build_fleet(
            scenes, Path(tmp), seed=1, video=video, workers=workers, progress=False
        )
        wall = time.perf_counter() - started
        return {
            "run": "videos" if video else "manifest only",
            "workers": workers,
            "scenes": scenes,
            "videos": report.videos,
            "wall_s": wall,
            "cpu_s": cpu_seconds() - cpu,
            "mb": folder_mb(Path(tmp)),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small fleets (~1 minute)")
    parser.add_argument("--manifest-scenes", type=int)
    parser.add_argument("--video-scenes", type=int)
    args = parser.parse_args()
    manifest_n = args.manifest_scenes or (10_000 if args.quick else 40_000)
    video_n = args.video_scenes or (8 if args.quick else 50)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows = [
        run(manifest_n, video=False, workers=1),
        run(manifest_n, video=False, workers=2),
        run(max(2, video_n // 5), video=True, workers=1),
        run(video_n, video=True, workers=2),
    ]
    print(f"load average after:  {os.getloadavg()[0]:.1f}\n")
    header = (
        f"{'run':<14} {'workers':>7} {'scenes':>7} {'videos':>6} {'wall s':>8} "
        f"{'scenes/s':>9} {'s/scene':>8} {'CPU s/scene':>11} {'MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['run']:<14} {r['workers']:>7} {r['scenes']:>7} {r['videos']:>6} "
            f"{r['wall_s']:>8.2f} {r['scenes'] / r['wall_s']:>9,.0f} "
            f"{r['wall_s'] / r['scenes']:>8.4f} {r['cpu_s'] / r['scenes']:>11.4f} {r['mb']:>8.1f}"
        )
    print("\ntargets: manifest only >= 5,000 scenes/s; 50 scenes with videos well under 60 s")


if __name__ == "__main__":
    main()
