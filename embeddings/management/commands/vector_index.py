from django.core.management.base import BaseCommand, CommandError

from embeddings import vector_index
from embeddings.models import EmbeddingModel


class Command(BaseCommand):
    help = (
        "Show each model's frame index kind, or rebuild one model's frame index as another "
        "kind (halfvec: full vectors; bit: binary-quantized, ~3.7x smaller, exact re-rank) "
        "while search keeps running; --scenes rebuilds its scene index with the current "
        "graph options."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="model name (see the listing without arguments)")
        parser.add_argument("--kind", choices=vector_index.KINDS, help="the frame index kind")
        parser.add_argument(
            "--scenes", action="store_true", help="rebuild the model's scene index instead"
        )

    def handle(self, *args, model, kind, scenes, **options):
        if not model:
            for row in EmbeddingModel.objects.order_by("pk"):
                self.stdout.write(f"{row.name}\t{row.frame_index}")
            return
        found = EmbeddingModel.objects.filter(name=model).first()
        if found is None:
            raise CommandError(f"--model: no model named {model!r}")
        if scenes:
            if kind is not None:
                raise CommandError("--kind: not with --scenes (the scene index is halfvec)")
            vector_index.rebuild_scene_index(found, progress=self.stdout.write)
            self.stdout.write(f"{found.name}: scene index rebuilt")
            return
        if kind is None:
            raise CommandError("--kind: required with --model (halfvec or bit)")
        vector_index.rebuild_frame_index(found, kind, progress=self.stdout.write)
        self.stdout.write(f"{found.name}: frame index is now {kind}")
