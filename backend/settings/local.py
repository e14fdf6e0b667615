"""Developer and demo settings: debug on, embedded SQLite and broker unless overridden."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
WHITENOISE_USE_FINDERS = True

# --- payments (demo): embedded Stripe = localstripe, a dev-only dependency -----------------
# localstripe accepts any sk_test_ key; it has no Payment Element, so the demo confirms payments
# server-side with a test card (MINOT_PAYMENTS_SERVER_CONFIRM). Production sets real keys.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_minot_demo")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_minot_demo")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_minot_demo")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:8420")
MINOT_PAYMENTS_SERVER_CONFIRM = env.bool("MINOT_PAYMENTS_SERVER_CONFIRM", default=True)
MINOT_DEMO_PROCESSES = {  # noqa: F405
    **MINOT_DEMO_PROCESSES,  # noqa: F405
    "localstripe": "{py} -m payments.devstripe --port "
    + STRIPE_API_BASE.rsplit(":", 1)[-1].strip("/")
    + " --webhook http://127.0.0.1:{port}/payments/stripe/webhook/ --secret "
    + STRIPE_WEBHOOK_SECRET,
}

# The demo accounts sign in with a password only; production requires two factors for staff.
MINOT_2FA_REQUIRED = env.bool("MINOT_2FA_REQUIRED", default=False)
