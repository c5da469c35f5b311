from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "curation"
    verbose_name = "Scene sets, versions and exports"

    def ready(self) -> None:
        # Standing queries look at scenes as they land and finish embedding; the catalog
        # and the embeddings app report them through these explicit hooks (after commit),
        # knowing nothing of saved searches.
        from catalog.hooks import register_scenes_changed
        from curation.standing import on_scenes_changed, on_scenes_embedded
        from embeddings.hooks import register_scenes_embedded

        register_scenes_changed(on_scenes_changed)
        register_scenes_embedded(on_scenes_embedded)
