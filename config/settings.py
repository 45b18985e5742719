"""Settings for the whole project, read from the environment (django-environ).

One module for every environment: development (the default: SQLite, DEBUG on, Celery
eager), tests (pytest-django) and production (``DJANGO_ENV=production``: secure cookies,
HSTS, a secret key that must be given, PostgreSQL and Redis through ``DATABASE_URL`` and
``CELERY_BROKER_URL``).
"""

import datetime as dt
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env("DJANGO_ENV", default="development") == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = env("DJANGO_SECRET_KEY")
else:
    SECRET_KEY = env(
        "DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop"
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "simple_history",
    "django_celery_beat",
    "axes",
    "accounts",
    "households",
    "monitoring",
    "reports",
]

MIDDLEWARE = [
    # first: every log line of the request carries its id
    "config.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "accounts.api_auth.ApiCallLogMiddleware",
    # last: turns a locked-out sign-in into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "monitoring.context_processors.notifications",
            ],
            "builtins": ["accounts.templatetags.texts"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout keep the demo server and a management command from tripping
    # over each other on the embedded database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A PostgreSQL streaming replica for the heavy reads (config/db_router.py): the ledger lists,
# the dashboard, the exports and the review's candidates read from it; everything else, and
# every read inside a transaction on the primary, from the primary. Tests mirror it onto the
# primary (the same rows, read through the replica's connection).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Sign-in goes through django-axes first: it counts failures and refuses a locked account or
# address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
#: Failed sign-ins per account, and per address, before a lockout; and how long it lasts
#: (counted from the last failure). An operator lifts it earlier (user admin, "解除登录锁定").
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["password"]
#: Behind a reverse proxy, how many proxies stand in front (the client address is then read
#: from X-Forwarded-For); 0 reads REMOTE_ADDR.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0) or None
if AXES_IPWARE_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

#: A staff API token's lifetime when its owner does not choose one, and the longest allowed.
STAFF_TOKEN_DAYS = env.int("STAFF_TOKEN_DAYS", default=90)
STAFF_TOKEN_MAX_DAYS = env.int("STAFF_TOKEN_MAX_DAYS", default=365)
#: How many live tokens one person may hold.
STAFF_TOKEN_MAX_ACTIVE = env.int("STAFF_TOKEN_MAX_ACTIVE", default=5)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
#: where `collectstatic` puts the files a production server serves (whitenoise, hashed names)
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"
#: hours an Excel export's file is kept for its owner (then a periodic task removes it)
EXPORT_RETENTION_HOURS = env.int("EXPORT_RETENTION_HOURS", default=72)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Security: strict in production, relaxed for the local demo and the test client.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
# a load balancer probes the app hosts over plain HTTP on the private network
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.DepartmentKeyAuthentication",
        "accounts.api_auth.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.HasScope",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "config.filters.StrictFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.KeyRateThrottle", "accounts.api_auth.StaffRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_KEY_RATE", default="600/min"),
        "user": env("API_USER_RATE", default="1200/min"),
    },
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    "DEFAULT_PARSER_CLASSES": [
        "config.api.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "防止返贫致贫动态监测和帮扶 API",
    "DESCRIPTION": "Partner departments push early-warning alerts and close their assistance tasks; "
    "staff tools read the registry and act on cases. Errors are always "
    '{"code", "message", "fields"} with a 4xx status.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ClueStatusEnum": "monitoring.models.cases.ClueStatus",
        "ChannelEnum": "monitoring.models.cases.Channel",
        "CaseStatusEnum": "monitoring.models.cases.CaseStatus",
        "StepStatusEnum": "monitoring.models.cases.StepStatus",
        "MeasureStatusEnum": "monitoring.models.cases.MeasureStatus",
        "DismissReasonEnum": "monitoring.models.cases.DismissReason",
        "MonitoringCategoryEnum": "households.models.MonitoringCategory",
        "TokenStateEnum": "accounts.api.TOKEN_STATES",
        "CallStatusEnum": "monitoring.models.calls.CallStatus",
        "CallHopStateEnum": "monitoring.models.calls.HopState",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.document_errors",
    ],
}

# Celery: Redis in production; with no broker configured, tasks run eagerly in-process so
# the first look needs no other service.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queues by kind of work, each with its own workers (deploy/): what a person waits for
# ("interactive", the default), the periodic county jobs, the long exports and imports
# ("bulk"), and email. A county-wide review never delays an export a person is watching.
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_ROUTES = {
    "accounts.tasks.notifications_email": {"queue": "email"},
    "reports.write_export": {"queue": "bulk"},
    "households.run_import": {"queue": "bulk"},
    "monitoring.tasks.*": {"queue": "periodic"},
    "reports.tasks.*": {"queue": "periodic"},
}
#: Redis (and SQS) hand an unacknowledged message to another worker after this many seconds: with
#: ``acks_late`` that is how a killed worker's task comes back, and also what happens to a task
#: still running past it (the run lease then makes the second delivery wait or skip, so nothing
#: doubles). Keep it above the longest task; RabbitMQ ignores it (it redelivers on a lost
#: connection).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A periodic task's running record is a lease: the run stamps a heartbeat every quarter of it;
# a run with no heartbeat for this long is dead (its worker was killed) and the next run of the
# same task over the same area takes over.
TASK_RUN_LEASE_SECONDS = env.int("TASK_RUN_LEASE_SECONDS", default=120)

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@example.org")
# Notifications are always shown in the app; also email them to users with an address?
NOTIFICATION_EMAIL = env.bool("NOTIFICATION_EMAIL", default=True)

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Every handler masks ID numbers (accounts/logging.py): the development server's request
# lines (``django.server``) as well as the application's own.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_id_numbers": {"()": "accounts.logging.MaskIdNumbers"},
        "request_id": {"()": "config.request_id.RequestIdFilter"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
        # LOG_FORMAT=json: one JSON object a line for a log collector
        "json": {"()": "config.request_id.JsonFormatter"},
        "text": {"format": "{asctime} {levelname} {name} [{request_id}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "mask_id_numbers"],
            "formatter": env("LOG_FORMAT", default="text"),
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_id_numbers"],
        },
    },
    "loggers": {"django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
