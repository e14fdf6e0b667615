"""DRF's default JSON parser, with Minot's depth and size limits (see safejson)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .safejson import JSONLimitError, loads_limited


class LimitedJSONParser(JSONParser):
    """Every JSON body of the API: too deep, too large or malformed → 400 with a message."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        try:
            return loads_limited(body, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        except JSONLimitError as exc:
            raise ParseError(str(exc))
