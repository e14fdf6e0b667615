"""Settings shared by every environment, read from environment variables (django-environ).

Nothing here is only meaningful in production: production.py tightens, it does not add features.
"""

from pathlib import Path
from typing import Any

import environ
from csp.constants import NONCE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First, so that its templates (registration/*, base.html) win over django.contrib.admin's.
    "backend.core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "backend.accounts",
    "backend.citizen",
    "family",
    "canteen",
    "payments",
    "fleet",
]

MIDDLEWARE = [
    "backend.core.middleware.RequestIdMiddleware",
    "backend.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "backend.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.citizen.logout.EndSessionFormActionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "backend.core.account.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "backend.core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["backend.core.templatetags.money"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "backend.core.context_processors.navigation",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
# SQLite under var/ is the embedded default; DATABASE_URL (PostgreSQL in production and CI)
# replaces it.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'minot.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file: wait for locks instead of failing, and let readers
    # run beside the writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Server-side parameters, and a query run 5 times on a connection is prepared: PostgreSQL
        # plans the portal's joins once per connection instead of on every request (planning a
        # family's applications with their schools took longer than running it). Off behind a
        # pooler in transaction mode (PgBouncer < 1.21): DATABASE_PREPARED_STATEMENTS=False.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection keyed on the (account, address) pair: a school behind one NAT address
# is never locked out because one person mistyped a password.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form and the token API both pass the email as `username` to authenticate().
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "backend.core.views.lockout"
# Every letter case of an email is one account for the throttle (pages, API and admin).
AXES_USERNAME_CALLABLE = "backend.core.account.auth.axes_username"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_VERBOSE = False

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded documents live outside the web root and are only served through permission-checked
# views, as attachments.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "uploads"))
MEDIA_URL = "/_uploads_are_never_served_directly/"
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email --------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# send_mail stores the message and the outbox delivers it through the real transport, retrying
# while SMTP is down (backend/core/mail.py).
MINOT_EMAIL_TRANSPORT = vars()["EMAIL_BACKEND"]
EMAIL_BACKEND = "backend.core.mail.DurableEmailBackend"
MINOT_EMAIL_RETRY_HOURS = env.int("MINOT_EMAIL_RETRY_HOURS", default=12)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Minot <no-reply@minot.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backend.core.account.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with depth and size limits (400, never a RecursionError 500), then forms.
    "DEFAULT_PARSER_CLASSES": [
        "backend.core.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "backend.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "backend.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backend.core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env("API_AUTH_THROTTLE", default="30/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Minot API",
    "DESCRIPTION": "Families, schools, canteen, payments and the classroom device fleet.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.core.schema.local_times",
        "backend.core.schema.database_neutral",
    ],
}

# --- Cache --------------------------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://minot")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "backend.core.cache.RedisCache"  # one client per pool

# --- Celery -------------------------------------------------------------------------------
# Embedded default: kombu's SQLAlchemy transport on an SQLite file, so a newcomer needs no
# broker server. CELERY_BROKER_URL=redis://... in production and CI.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_TASK_ACKS_LATE = True
# A worker killed mid-task (SIGKILL, OOM) gives its task back instead of acking it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis redelivers an unacked task after this long: longer than the longest task (TIME_LIMIT)
# and than any countdown, else a slow task would run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
    }
    if CELERY_BROKER_URL.startswith("redis")
    else {}
)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Stripe -------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")

# --- Minot --------------------------------------------------------------------------------
MINOT_CURRENCY = "EUR"
MINOT_SITE_URL = env("MINOT_SITE_URL", default="http://127.0.0.1:8000")
MINOT_CITY_NAME = env("MINOT_CITY_NAME", default="Ville de Minot")
# Each app contributes its navigation entries and home-page cards here (see backend/core/nav.py).
# The app holding households, children and applications (the unit of access; see core.access).
MINOT_FAMILY_APP = "family"

# Who may refuse a booking (dotted paths of ``(*, household) -> str | None``). The canteen asks
# them; payments provides the unpaid-invoices rule. Dependencies go one way: payments → canteen.
MINOT_BOOKING_GUARDS = ["payments.selectors.booking_block_reason"]

# Family calendars and school year (see docs/family.md).
MINOT_SCHOOL_ZONE = env("MINOT_SCHOOL_ZONE", default="C")  # school holiday zone: A, B or C
MINOT_ALSACE_MOSELLE = env.bool("MINOT_ALSACE_MOSELLE", default=False)  # Good Friday, 26 Dec
MINOT_ILLNESS_BILLED_DAYS = env.int("MINOT_ILLNESS_BILLED_DAYS", default=1)
MINOT_YEAR_MEAL_COUNTER = "canteen.selectors.meals_booked_by_child"

MINOT_NAVIGATION_PROVIDERS = [
    "backend.core.navigation.items",
    "family.navigation.items",
    "canteen.navigation.items",
    "payments.navigation.items",
    "fleet.navigation.items",
]
# Where the browser goes after « Se déconnecter » (dotted paths of ``(request) -> str | None``,
# asked before the session ends; the first URL wins, else the login page). The citizen app sends
# a person who signed in through the city's identity provider to its end-session endpoint.
MINOT_LOGOUT_REDIRECTS = ["backend.citizen.logout.end_session_redirect"]
# What each role's home page shows first: "what needs doing" (see backend/core/homes.py).
MINOT_HOME_PANELS = [
    "payments.home.panels",
    "family.home.panels",
    "canteen.home.panels",
    "fleet.home.panels",
]
# Demo seeding, in dependency order (see backend/core/management/commands/seed_demo.py).
MINOT_DEMO_SEEDERS = [
    "family.demo.seed",
    "canteen.demo.seed",
    "payments.demo.seed",
    "fleet.demo.seed",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "backend.core.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "backend.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Periodic tasks, declared in the database scheduler by `manage.py setup_periodic_tasks`.
MINOT_SCHEDULES = [
    "backend.core.schedule.PERIODIC_TASKS",
    "family.schedule.PERIODIC_TASKS",
    "canteen.schedule.PERIODIC_TASKS",
    "payments.schedule.PERIODIC_TASKS",
    "fleet.schedule.PERIODIC_TASKS",
]
# Operators: /metrics (backend/core/metrics.py), JSON logs, optional Sentry.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
MINOT_METRICS_QUEUES: list[str] = []
MINOT_METRICS_PROVIDERS = ["payments.metrics.gauges", "fleet.metrics.gauges"]
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=0.0)

# Extra processes `make demo` starts beside web/worker/beat: {"name": "command"}, where
# {py} is the virtualenv's python and {port} the web port.
MINOT_DEMO_PROCESSES: dict[str, str] = {}

# --- family: stable OpenAPI names for the family module's choice sets (drf-spectacular) ------
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        f"{name}Enum": f"family.models.{path}"
        for name, path in [
            ("SchoolKind", "School.Kind"),
            ("ActivityKind", "Activity.Kind"),
            ("DocumentKind", "DocumentKind"),
            ("ApplicationEventKind", "ApplicationEvent.Kind"),
            ("ApplicationState", "SchoolApplication.State"),
            ("DerogationReason", "SchoolApplication.DerogationReason"),
            ("ActivityRegistrationState", "ActivityRegistration.State"),
            ("InvitationState", "GuardianInvitation.State"),
            ("ChangeRequestState", "ChangeRequest.State"),
            ("ChangeRequestCategory", "ChangeRequest.Category"),
            ("IncomeStatus", "IncomeAssessment.Status"),
            ("IncomeSource", "IncomeAssessment.Source"),
            ("DocumentStatus", "Document.Status"),
            ("ChildDiet", "Child.Diet"),
            ("ChildCustody", "Child.Custody"),
            ("CustodyWeeks", "ChildGuardian.Weeks"),
            ("MessageThreadStatus", "MessageThread.Status"),
            ("AppointmentState", "AppointmentRequest.State"),
            ("MessageThreadAction", "THREAD_ACTIONS"),
            ("AppointmentAction", "APPOINTMENT_ACTIONS"),
        ]
    }
)
# The registrations' bulk "action" keeps its name next to the messages' "action" fields.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ActionEnum"] = [
    "review",
    "accept",
    "waitlist",
    "refuse",
]

# --- payments: stable OpenAPI names for the payments module's choice sets (drf-spectacular) ----
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "InvoiceStatusEnum": "payments.models.Invoice.Status",
        "PaymentStatusEnum": "payments.models.Payment.Status",
        "PaymentProviderEnum": "payments.models.Payment.Provider",
        "RefundStatusEnum": "payments.models.Refund.Status",
        "InvoiceLineKindEnum": "payments.models.InvoiceLine.Kind",
        "LedgerEntryKindEnum": "payments.models.LedgerEntry.Kind",
    }
)

# --- security (docs/security.md) -------------------------------------------------------------
# Emails sent to one address, or by one account, per window (password reset, invitations).
MINOT_EMAIL_RATE_LIMIT = env.int("MINOT_EMAIL_RATE_LIMIT", default=5)
MINOT_EMAIL_RATE_WINDOW = env.int("MINOT_EMAIL_RATE_WINDOW", default=60 * 60)

# API tokens (django-rest-knox, hashed at rest): lifetime and how many live tokens per person.
KNOX_TOKEN_MODEL = "accounts.ApiToken"
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)
API_TOKEN_LIMIT_PER_USER = env.int("API_TOKEN_LIMIT_PER_USER", default=10)
REST_KNOX = {"AUTH_HEADER_PREFIX": "Token"}

# Content-Security-Policy on every response (django-csp): only our own files, inline scripts
# only with the per-response nonce (`<script nonce="{{ request.csp_nonce }}">`), no inline style.
# The payment page adds Stripe's origins for itself (payments/views.py); after a sign-in through
# the city's identity provider, form-action also names its end-session origin (citizen/logout.py).
MINOT_CSP_REPORT_URI = "/csp-report/"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "report-uri": MINOT_CSP_REPORT_URI,
    },
}

# Two-factor authentication (django-otp, TOTP + recovery codes): required for these roles when
# MINOT_2FA_REQUIRED is on (production); optional for parents. Demo and test settings relax it.
MINOT_2FA_REQUIRED = env.bool("MINOT_2FA_REQUIRED", default=True)
MINOT_2FA_REQUIRED_ROLES = ["staff", "admin", "technician"]
OTP_TOTP_ISSUER = MINOT_CITY_NAME

# Retention schedule, in days, per data class (docs/security.md; applied nightly by
# backend.core.tasks.retention_task and `manage.py retention [--dry-run]`).
MINOT_RETENTION_DAYS = {
    "documents": env.int("RETENTION_DOCUMENTS_DAYS", default=365),
    "applications": env.int("RETENTION_APPLICATIONS_DAYS", default=3 * 365),
    "health_records": env.int("RETENTION_HEALTH_DAYS", default=365),
    "audit_log": env.int("RETENTION_AUDIT_DAYS", default=3 * 365),
    "device_history": env.int("RETENTION_DEVICE_HISTORY_DAYS", default=365),
    "accounting": env.int("RETENTION_ACCOUNTING_DAYS", default=10 * 366),
}
MINOT_RETENTION_APPLIERS = [
    "family.retention.apply",
    "fleet.retention.apply",
    "backend.core.retention.audit_log_apply",
]
# Public notices (footer): who answers privacy and accessibility questions, and the RGAA level
# actually reached (an audit measures it; "non conforme" until one has).
MINOT_DPO_EMAIL = env("MINOT_DPO_EMAIL", default="dpo@minot.invalid")
MINOT_ACCESSIBILITY_EMAIL = env("MINOT_ACCESSIBILITY_EMAIL", default="accessibilite@minot.invalid")
MINOT_ACCESSIBILITY_LEVEL = env("MINOT_ACCESSIBILITY_LEVEL", default="non conforme")
# --- citizen: sign-in with the city's OpenID Connect providers (see docs/citizen-account.md) --
# Unset OIDC_ISSUER = local accounts only. Discovery at <issuer>/.well-known/openid-configuration.
OIDC_ISSUER = env("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", default="")
OIDC_SCOPES = env("OIDC_SCOPES", default="openid email profile phone")
OIDC_ACR_VALUES = env("OIDC_ACR_VALUES", default="")
OIDC_REQUIRED_AMR = env.list("OIDC_REQUIRED_AMR", default=[])
# Optional second provider for city agents (directory groups → roles, see citizen.StaffGroupRole).
OIDC_STAFF_ISSUER = env("OIDC_STAFF_ISSUER", default="")
OIDC_STAFF_CLIENT_ID = env("OIDC_STAFF_CLIENT_ID", default="")
OIDC_STAFF_CLIENT_SECRET = env("OIDC_STAFF_CLIENT_SECRET", default="")
OIDC_STAFF_SCOPES = env("OIDC_STAFF_SCOPES", default="openid email profile groups")
OIDC_STAFF_GROUPS_CLAIM = env("OIDC_STAFF_GROUPS_CLAIM", default="groups")
OIDC_STAFF_ACR_VALUES = env("OIDC_STAFF_ACR_VALUES", default="")
OIDC_STAFF_REQUIRED_AMR = env.list("OIDC_STAFF_REQUIRED_AMR", default=[])
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10)
