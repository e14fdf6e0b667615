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
