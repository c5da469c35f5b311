import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from demo.fleet import build_fleet

MAX_SCENES = 10_000_000


class Command(BaseCommand):
    help = (
        "Write a synthetic fleet: DIR/manifest.jsonl (a scene manifest for `ingest`, camera "
        "URIs relative to it) and, unless --no-video, 7 camera videos per scene under "
        "DIR/videos/. Prints the manifest path last."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scenes", type=int, required=True, metavar="N")
        parser.add_argument("--out", required=True, metavar="DIR", help="local directory")
        parser.add_argument("--seed", type=int, default=0, metavar="S")
        parser.add_argument(
            "--no-video",
            action="store_true",
            help="manifest only (its video URIs name files that are not written)",
        )
        parser.add_argument(
            "--workers", type=int, default=min(2, os.cpu_count() or 1), help="render processes"
        )
        parser.add_argument("--fps", type=int, default=5, help="video frame rate (1-30)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, scenes, out, seed, no_video, workers, fps, no_progress, **options):
        if not 1 <= scenes <= MAX_SCENES:
            raise CommandError(f"--scenes must be between 1 and {MAX_SCENES:,}", returncode=2)
        if "://" in out:
            raise CommandError(f"--out must be a local directory, not {out!r}", returncode=2)
        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64", returncode=2)
        if not 1 <= fps <= 30:
            raise CommandError("--fps must be between 1 and 30", returncode=2)
        if seed < 0:
            raise CommandError("--seed must be >= 0", returncode=2)
        folder = Path(out).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"--out {out!r} exists and is not a directory", returncode=2)
        try:
            report = build_fleet(
                scenes,
                folder,
                seed=seed,
                video=not no_video,
                workers=workers,
                fps=fps,
                progress=not no_progress,
            )
        except OSError as exc:
            raise CommandError(f"cannot write to {out!r}: {exc}", returncode=2) from exc
        per_scene = report.seconds / report.scenes
        self.stderr.write(
            f"{report.scenes} scenes, {report.videos} videos in {report.seconds:.1f} s "
            f"({per_scene:.3f} s/scene, {report.scenes / report.seconds:,.1f} scenes/s)"
        )
        self.stdout.write(str(report.manifest))
