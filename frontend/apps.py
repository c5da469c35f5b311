from django.apps import AppConfig


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = "Web UI"

    def ready(self) -> None:
        # Standing-query notifications link to the UI's pages; curation builds no UI URL
        # itself, the UI tells it how.
        from curation.links import register_links
        from frontend.links import scene_page_url, watch_page_url

        register_links(scene=scene_page_url, watch=watch_page_url)
