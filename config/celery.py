"""The Celery application. Tasks live in the domain apps (`*/tasks.py`)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("catalog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _start_embedded_servers(sender, **kwargs):
    """`celery -A config worker` reads the app's configuration before anything loads Django
    settings: start the embedded servers first, as the other entry points do. In a Django
    process the settings are loaded already, and whoever loaded them did this."""
    from django.conf import settings

    if not settings.configured:
        from config import embedded

        embedded.bootstrap()
