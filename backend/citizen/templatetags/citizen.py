from django import template

from backend.citizen import providers

register = template.Library()


@register.inclusion_tag("citizen/sign_in_options.html", takes_context=True)
def citizen_sign_in_options(context):
    """The "compte citoyen" button (and the agents' one) on the login page, when configured."""
    request = context.get("request")
    return {
        "citizen": providers.provider(providers.CITIZEN) is not None,
        "staff": providers.provider(providers.STAFF) is not None,
        "next": context.get("next") or (request.GET.get("next", "") if request else ""),
    }
