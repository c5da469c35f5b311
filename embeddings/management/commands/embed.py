import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.models import Job
from embeddings import queueing, selectors, services
from embeddings.encoder import EncoderUnavailable, encoder_for_model_name, get_encoder

POLL_S = 0.5
STALL_HINT_S = 30
SHOWN_ERRORS = 5


class Command(BaseCommand):
    help = (
        "Embed every scene not yet embedded with the model (never queued, failed, or "
        "changed since): queue them for the Celery workers, or run them here (--inline)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            help="model identity <architecture>/<weights tag> (weights 'untrained' = random); "
            "default: CATALOG_CLIP_MODEL / CATALOG_CLIP_PRETRAINED / CATALOG_CLIP_CHECKPOINT",
        )
        parser.add_argument(
            "--wait", action="store_true", help="show progress until done; exit 1 if any failed"
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="embed in this process instead of the workers (implies --wait)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, model, wait, inline, no_progress, **options):
        try:
            encoder = encoder_for_model_name(model) if model else get_encoder()
            embedding_model = services.embedding_model_ensure(encoder)
        except EncoderUnavailable as exc:
            raise CommandError(str(exc), returncode=2) from exc
        pks = list(services.scenes_to_embed(embedding_model).values_list("pk", flat=True))
        if not pks:
            self.stdout.write(f"nothing to embed: all scenes embedded with {encoder.model_name}")
            return
        if inline:
            job = self._run_inline(pks, encoder, no_progress)
        else:
            job = queueing.enqueue_embedding(scene_pks=pks, encoder=encoder, trigger="command")
            self.stdout.write(f"job {job.pk}: {len(pks)} scenes queued for {encoder.model_name}")
            if not wait:
                return
            job = self._wait(job, no_progress)
        self._report(job, embedding_model)

    def _run_inline(self, pks, encoder, no_progress) -> Job:
        model = services.embedding_model_ensure(encoder)
        job = services.embedding_job_create(total=len(pks), model=model, trigger="command")
        services.scenes_attach_to_job(scene_pks=pks, model=model, job=job)
        self.stdout.write(f"job {job.pk}: embedding {len(pks)} scenes with {model.name} here")
        for pk in tqdm(pks, unit=" scenes", file=sys.stderr, disable=no_progress or None):
            try:
                services.scene_embed(scene_pk=pk, model_name=model.name)
            except Exception as exc:  # transient errors too: no retry loop here
                services.scene_embed_fail(scene_pk=pk, model=model, error=str(exc))
        job.refresh_from_db()
        return job

    def _wait(self, job: Job, no_progress: bool) -> Job:
        bar = tqdm(total=job.total, unit=" scenes", file=sys.stderr, disable=no_progress or None)
        last_done, last_change, hinted = -1, time.monotonic(), False
        try:
            while True:
                job.refresh_from_db()
                bar.update(job.done - bar.n)
                if job.state in (Job.State.DONE, Job.State.FAILED):
                    return job
                if job.done != last_done:
                    last_done, last_change = job.done, time.monotonic()
                elif not hinted and time.monotonic() - last_change > STALL_HINT_S:
                    hinted = True
                    bar.write(
                        f"no scene finished in {STALL_HINT_S} s: is a worker running? "
                        "Start one with `celery -A config worker -l info`, or embed here "
                        "with `manage.py embed --inline`.",
                        file=sys.stderr,
                    )
                time.sleep(POLL_S)
        finally:
            bar.close()

    def _report(self, job: Job, model) -> None:
        failed = (job.result or {}).get("failed", 0)
        self.stdout.write(f"job {job.pk}: {job.done - failed} done, {failed} failed")
        if not failed:
            return
        for scene_id, error in selectors.recent_failures(
            model, since=job.created_at, limit=SHOWN_ERRORS
        ):
            self.stderr.write(f"  {scene_id}: {error}")
        raise CommandError(
            f"{failed} of {job.total} scenes failed; `manage.py embed` retries them", returncode=1
        )
