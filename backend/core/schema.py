from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names nested ``InputSerializer``/``OutputSerializer`` components after their endpoint class
    (``MeApi.OutputSerializer`` → ``MeApiOutput``), so one-class-per-operation APIs never collide."""

    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        qualname = serializer.__class__.__qualname__
        if "." in qualname:
            name = qualname.replace(".", "")
            if name.endswith("Serializer"):
                name = name[: -len("Serializer")]
        return name


def local_times(result, generator, request, public):
    """Times of day are local wall-clock times (``07:30:00``), not RFC 3339 ``full-time`` with an
    offset: describe them as such, so that clients validating ``format: time`` strictly accept
    what the API really sends."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("format") == "time":
                node.pop("format")
                node["pattern"] = r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
                node.setdefault("example", "07:30:00")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


DATABASE_LIMITS = {
    32767,
    2147483647,
    9223372036854775807,
    -32768,
    -2147483648,
    -9223372036854775808,
}


def database_neutral(result, generator, request, public):
    """Integer bounds that only restate the database column's range (they differ between SQLite
    and PostgreSQL) are left out, so the schema is the same whatever database generated it."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "integer":
                for key in ("maximum", "minimum"):
                    if node.get(key) in DATABASE_LIMITS:
                        node.pop(key)
                if node.get("format") == "int64":
                    node.pop("format")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
