from django.apps import AppConfig


class EmbeddingsConfig(AppConfig):
    name = "embeddings"
    verbose_name = "Frame embeddings and vector search"

    def ready(self) -> None:
        # Ingestion reports new and changed scenes through this explicit hook (after its
        # transaction commits); the catalog itself knows nothing about embeddings.
        from catalog.hooks import register_scenes_changed
        from embeddings.queueing import on_scenes_changed

        register_scenes_changed(on_scenes_changed)
