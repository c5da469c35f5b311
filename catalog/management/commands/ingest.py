import logging
import sys
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import hooks, storage, uris
from catalog.ingest.priority import yield_cpu
from catalog.services import manifest_ingest

MAX_PRINTED_REJECTIONS = 200
logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Ingest a scene manifest (JSONL or Parquet; path, file:// or s3:// URI). Exit 1 if "
        "any line was rejected (each listed), 2 if the manifest cannot be read at all, "
        "3 on an internal error."
    )

    def add_arguments(self, parser):
        parser.add_argument("manifest", help="path, file:// or s3:// URI of the manifest")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--no-embed",
            action="store_true",
            help="do not enqueue embedding (backfills; run `manage.py embed` later)",
        )

    def handle(self, *args, manifest, batch_size, no_progress, no_embed, **options):
        # Background work: on a machine that also serves the web, requests come first (the
        # parse workers it forks inherit this, and an idle machine ingests as fast).
        yield_cpu()
        bar = tqdm(unit=" lines", file=sys.stderr, disable=no_progress or None, dynamic_ncols=True)

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        # An operator on the machine: any local path may be read (catalog.uris).
        try:
            with hooks.scenes_changed_paused() if no_embed else nullcontext():
                report = manifest_ingest(
                    manifest_uri=manifest, progress=progress, batch_size=batch_size
                )
        except uris.UriRejected as exc:
            raise CommandError(f"{manifest}: {exc}", returncode=2) from None
        except storage.StorageError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except Exception as exc:
            logger.exception("ingest of %s failed", manifest)
            raise CommandError(
                f"internal error ({exc.__class__.__name__}); see the log", returncode=2
            ) from None
        finally:
            bar.close()
        out = self.stdout
        out.write(f"manifest:  {report.manifest_uri}")
        out.write(f"lines:     {report.lines}")
        out.write(f"inserted:  {report.inserted}")
        out.write(f"updated:   {report.updated}")
        out.write(f"unchanged: {report.unchanged}")
        out.write(f"rejected:  {len(report.rejected)}")
        rate = report.lines / report.seconds if report.seconds else 0
        out.write(f"seconds:   {report.seconds:.2f} ({rate:,.0f} lines/s)")
        for rejection in report.rejected[:MAX_PRINTED_REJECTIONS]:
            scene = f" [{rejection.scene_id}]" if rejection.scene_id else ""
            out.write(f"  line {rejection.line}{scene}: {rejection.reason}")
        if len(report.rejected) > MAX_PRINTED_REJECTIONS:
            out.write(f"  ... and {len(report.rejected) - MAX_PRINTED_REJECTIONS} more")
        if report.rejected:
            sys.exit(1)
