"""gunicorn's entry point (`gunicorn config.wsgi`)."""

import os

from django.core.wsgi import get_wsgi_application

from config import embedded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
embedded.bootstrap()
application = get_wsgi_application()
