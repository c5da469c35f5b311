from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "HTTP API"

    def ready(self) -> None:
        # The catalog signs media links; where they are served is the web layer's to say.
        from api.media import media_link
        from catalog.media import register_link_view

        register_link_view(media_link)
