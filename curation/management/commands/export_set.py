"""`manage.py export_set SET --version N --format parquet --out PATH`: a frozen version's
manifest, as `GET sets/<id>/versions/<n>/manifest` serves it, written to a file or URI."""

import hashlib
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import storage
from catalog.errors import InvalidInput, NotFound
from curation import manifest, selectors


class Command(BaseCommand):
    help = (
        "Export a frozen scene set version's manifest (jsonl, csv or parquet). SET is a set "
        "id (deleted sets included) or the exact name of a live set. No --confirm is needed: "
        "naming the output file is the confirmation. Exit status 2: bad arguments (unknown "
        "set or version); 1: the export failed (storage, integrity)."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version N` names the set version (the documented interface), replacing
        # Django's own `--version` (which prints Django's version).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("set", help="scene set id or name")
        parser.add_argument("--version", type=int, help="version number (default: the latest)")
        parser.add_argument("--format", choices=manifest.FORMATS, default="jsonl")
        parser.add_argument(
            "--out", required=True, help="path, file:// or s3:// URI; '-' for standard output"
        )
        parser.add_argument(
            "--presign",
            type=int,
            metavar="SECONDS",
            help="add camera_urls: HTTPS URLs for S3 cameras, valid this long",
        )

    def handle(self, *args, **options):
        fmt, out, presign_s = options["format"], options["out"], options["presign"]
        if presign_s is not None and not 1 <= presign_s <= manifest.MAX_PRESIGN_S:
            raise CommandError(f"--presign must be 1..{manifest.MAX_PRESIGN_S}", returncode=2)
        try:
            scene_set = selectors.scene_set_resolve(options["set"])
            if options["version"] is None:
                version = selectors.version_latest(scene_set=scene_set)
            else:
                version = selectors.version_get(
                    scene_set_id=scene_set.pk, number=options["version"]
                )
        except (NotFound, InvalidInput) as exc:
            raise CommandError(str(exc), returncode=2) from exc

        chunks = manifest.iter_manifest(version, fmt, presign_s=presign_s)
        digest = hashlib.sha256()
        try:
            size = self._write(chunks, out, fmt, digest)
        except storage.StorageError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        if fmt == "jsonl" and presign_s is None and digest.hexdigest() != version.sha256:
            raise CommandError(
                f"integrity check failed: the written manifest hashes to {digest.hexdigest()}, "
                f"version {version.number} recorded {version.sha256}",
                returncode=1,
            )
        report = self.stderr if out == "-" else self.stdout
        report.write(
            f"set {scene_set.pk} ({scene_set.name!r}) version {version.number}: "
            f"{version.count} scenes, {fmt}, {size:,} bytes -> {out}\n"
            f"sha256 (jsonl manifest): {version.sha256}"
        )

    def _write(self, chunks, out: str, fmt: str, digest) -> int:
        size = 0
        if out == "-":
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return size
        # Spool to a local temporary file, then hand it to storage in one piece: the
        # destination never holds a partial manifest, and S3 gets a streamed upload.
        with tempfile.TemporaryDirectory(prefix="export_set-") as folder:
            local = Path(folder) / f"manifest.{fmt}"
            with local.open("wb") as stream:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    stream.write(chunk)
            storage.upload_file(
                local, storage.to_uri(out), content_type=manifest.CONTENT_TYPES[fmt]
            )
        return size
