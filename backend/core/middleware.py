from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin


class LanguageMiddleware(MiddlewareMixin):
    """French unless the person chose otherwise with the language switcher.

    The browser's Accept-Language is deliberately ignored: the city's portal speaks French by
    default, and English is one click away (the choice is kept in a cookie).
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class RequestIdMiddleware:
    """Give every request an id (the proxy's ``X-Request-ID`` when it sends a sane one), put it in
    every log line and in the tasks the request enqueues, and answer it in ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from . import context

        given = request.headers.get("X-Request-ID", "")
        rid = (
            given
            if given.isascii() and given.replace("-", "").isalnum() and len(given) <= 64
            else ""
        )
        with context.bound(request=rid or context.new_request_id()):
            request.request_id = context.request_id.get()
            response = self.get_response(request)
        response.headers["X-Request-ID"] = request.request_id
        return response


class DatabaseUnavailableMiddleware:
    """A database that is down or failing over answers 503 with a clear French message, never 500.

    The transaction in flight was rolled back, so nothing is half-written; the connection is
    dropped, and the next request opens a fresh one (CONN_HEALTH_CHECKS does the same for a
    connection that died between requests): the application recovers without a restart.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError

        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable_response(request)
        return None


def database_unavailable_response(request):
    import logging

    from django.db import connections
    from django.http import HttpResponse, JsonResponse
    from django.utils.html import escape
    from django.utils.translation import gettext as _

    from .metrics import DB_UNAVAILABLE

    logging.getLogger("minot.db").warning("database unavailable: answering 503", exc_info=True)
    DB_UNAVAILABLE.inc()
    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()
    message = _(
        "Le service est momentanément indisponible. Votre dernière action n'a pas été "
        "enregistrée : réessayez dans une minute."
    )
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {"message": message, "extra": {"retry_after": 30}}, status=503
        )
    else:
        # No template, no context processor: nothing here may touch the database.
        title = escape(_("Service momentanément indisponible"))
        response = HttpResponse(
            f'<!doctype html><html lang="{escape(translation.get_language() or "fr")}"><head>'
            f'<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{title}</title></head><body><main><h1>{title}</h1>"
            f"<p>{escape(message)}</p></main></body></html>",
            status=503,
        )
    response.headers["Retry-After"] = "30"
    return response
