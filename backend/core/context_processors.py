from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .access import audience
from .nav import nav_items
from .selectors import notification_unread_count


def navigation(request):
    user = request.user
    return {
        "nav_items": SimpleLazyObject(lambda: nav_items(user)),
        "unread_notifications": SimpleLazyObject(
            lambda: notification_unread_count(user=user) if user.is_authenticated else 0
        ),
        "city_name": settings.MINOT_CITY_NAME,
        "accessibility_level": settings.MINOT_ACCESSIBILITY_LEVEL,
        # the role group of the reader (``parent``, ``staff``, ``admin``, ``technician``, ``none``)
        "audience": SimpleLazyObject(lambda: audience(user)),
    }
