"""WSGI entry point, for tools that want one; the site itself is served by daphne through edu.asgi."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edu.settings")
application = get_wsgi_application()
