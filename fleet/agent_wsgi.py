"""WSGI entry point that serves the osquery endpoints through a lean middleware stack.

    gunicorn fleet.agent_wsgi:application      (instead of backend.wsgi)

Requests under /api/osquery/ and /api/v1/osquery/ go to a Django handler whose middleware list is
only SecurityMiddleware + CommonMiddleware (agents have no session, user, language, CSRF token or
messages); every other path goes to the normal application unchanged. Same URLconf, same views.
"""

import os

from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

from backend.wsgi import application as site_application

AGENT_PREFIXES = ("/api/osquery/", "/api/v1/osquery/")
AGENT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]


class AgentHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        from django.conf import settings

        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = AGENT_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


agent_application = AgentHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(AGENT_PREFIXES):
        return agent_application(environ, start_response)
    return site_application(environ, start_response)
