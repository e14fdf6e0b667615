from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register()
def client_configured(app_configs, **kwargs):
    """An issuer without its client cannot work: say so at start-up, not at the first sign-in."""
    problems = []
    for prefix in ("OIDC_", "OIDC_STAFF_"):
        if getattr(settings, f"{prefix}ISSUER", "") and not getattr(
            settings, f"{prefix}CLIENT_ID", ""
        ):
            problems.append(
                Error(
                    f"{prefix}ISSUER is set but {prefix}CLIENT_ID is empty.",
                    hint="Register Minot at the provider (docs/citizen-account.md).",
                    id="citizen.E001",
                )
            )
    return problems


@register(Tags.security, deploy=True)
def issuer_https(app_configs, **kwargs):
    return [
        Warning(
            f"{prefix}ISSUER is not an https:// URL.",
            hint="Identity provider traffic must be encrypted in production.",
            id="citizen.W001",
        )
        for prefix in ("OIDC_", "OIDC_STAFF_")
        if getattr(settings, f"{prefix}ISSUER", "")
        and not getattr(settings, f"{prefix}ISSUER").startswith("https://")
    ]
