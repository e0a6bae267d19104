"""Annotator settings, read from the environment.

With no environment set the product runs on its *embedded default*: SQLite, local file
storage under ``data/``, the in-memory channel layer, an in-process Dramatiq worker and the
local-memory cache. Setting ``DATABASE_URL``, ``REDIS_URL`` and ``S3_BUCKET`` switches each
piece to its production form. Every variable is documented in README.md ("Configuration").
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true/false, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(env("ANNOTATOR_DATA_DIR", str(BASE_DIR / "data")))

# True when no production services are configured: the one-machine embedded default.
EMBEDDED = env("DATABASE_URL") is None and env("REDIS_URL") is None

DEBUG = env_bool("DEBUG", default=EMBEDDED)

_secret = env("SECRET_KEY")
if _secret is None:
    if not (EMBEDDED or DEBUG):
        raise ImproperlyConfigured("SECRET_KEY must be set outside the embedded default")
    # Embedded default only: a per-installation key kept under the data folder.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = DATA_DIR / "secret_key.txt"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key())
    _secret = _key_file.read_text().strip()
SECRET_KEY = _secret

# Key that encrypts API private keys at rest (Fernet). Defaults to one derived from
# SECRET_KEY; set it separately so that rotating SECRET_KEY does not lock out key pairs.
CREDENTIALS_ENCRYPTION_KEY = env("CREDENTIALS_ENCRYPTION_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    # Ours. `jobs` first: its ready() configures the Dramatiq broker before any actor
    # module is imported.
    "jobs",
    "accounts",
    "organizations",
    "audit",
    "projects",
    "tasks",
    "annotations",
    "media",
    "exports",
    "ml",
    "compat",
    "portal",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestIdMiddleware",
    "annotator.middleware.ApiTrailingSlashMiddleware",
    "annotator.middleware.ContentSecurityPolicyMiddleware",
    "annotator.middleware.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.LoginThrottleMiddleware",
    "organizations.middleware.CurrentOrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "annotator.urls"
ASGI_APPLICATION = "annotator.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organizations.context_processors.current_organization",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------
_database_url = env("DATABASE_URL")
if _database_url:
    # No persistent connections: daphne runs each request in a thread of its own (Django's
    # ASGI handler), so CONN_MAX_AGE would open a connection per request and leave it open
    # until garbage-collected (bench/load.py hit "too many clients" with 40 users). PostgreSQL
    # connections come from a per-process pool instead (DATABASE_POOL_SIZE; 0 = connect per request).
    # Health checks: the pool tests a connection before handing it out, so one that PostgreSQL
    # dropped (a restart, a failover) is replaced rather than failing the next job or request.
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=0, conn_health_checks=True)}
    _pool_size = env_int("DATABASE_POOL_SIZE", 10)
    if _pool_size > 0 and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, _pool_size),
            "max_size": _pool_size,
            "timeout": 30,  # seconds a request waits for a free connection before 503
        }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "annotator.sqlite3",
            # SQLite serialises writers; wait instead of failing under the in-process worker.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }
# Parallel test runs (several checkouts on one server) keep their test databases apart.
DATABASES["default"].setdefault("TEST", {})
if env("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"]["NAME"] = env("TEST_DATABASE_NAME")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis: broker, channel layer, cache -----------------------------------------------
REDIS_URL = env("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "annotator"),
            # Not a new connection per request thread (annotator/cache.py).
            "OPTIONS": {"pool_class": "annotator.cache.SharedConnectionPool"},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env("CHANNEL_LAYER_PREFIX", "annotator"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Dramatiq: Redis broker in production; the stub broker plus an in-process worker on the
# embedded default (see annotator/broker.py). DRAMATIQ_BROKER_URL overrides REDIS_URL;
# "stub://" forces the in-memory stub broker (tests).
DRAMATIQ_BROKER_URL = env("DRAMATIQ_BROKER_URL", REDIS_URL)
DRAMATIQ_NAMESPACE = env("DRAMATIQ_NAMESPACE", "annotator")
# Redis broker: a worker process silent for this long is dead (killed, machine lost), and the
# messages it had taken go back on their queues at the next maintenance of each queue, which
# runs on about DRAMATIQ_MAINTENANCE_CHANCE of every million broker commands (Dramatiq's
# defaults: 60 s and 1,000).
DRAMATIQ_HEARTBEAT_TIMEOUT_MS = env_int("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", 60_000)
DRAMATIQ_MAINTENANCE_CHANCE = env_int("DRAMATIQ_MAINTENANCE_CHANCE", 1_000)
# Start worker threads inside the web process (embedded default only, by default).
DRAMATIQ_IN_PROCESS_WORKER = env_bool(
    "DRAMATIQ_IN_PROCESS_WORKER", default=DRAMATIQ_BROKER_URL is None or DRAMATIQ_BROKER_URL.startswith("stub:")
)

# --- Storage ------------------------------------------------------------------------
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(DATA_DIR / "static")))
if EMBEDDED or DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve static files straight from the source folders when not collected (embedded default).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

S3_BUCKET = env("S3_BUCKET")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env("S3_ENDPOINT_URL"),
            "access_key": env("S3_ACCESS_KEY_ID"),
            "secret_key": env("S3_SECRET_ACCESS_KEY"),
            "region_name": env("S3_REGION", "us-east-1"),
            "location": env("S3_PREFIX", ""),
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": env_int("S3_PRESIGNED_EXPIRY_SECONDS", 300),
            "addressing_style": env("S3_ADDRESSING_STYLE", "auto"),
            "signature_version": "s3v4",
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Extra origins pages may load media from (e.g. a CDN in front of the bucket), comma-separated.
CSP_EXTRA_MEDIA_ORIGINS = env_list("CSP_EXTRA_MEDIA_ORIGINS", [])
# Lifetime of signed download links (presigned S3 URLs and our own signed local links).
DOWNLOAD_URL_EXPIRY_SECONDS = env_int("S3_PRESIGNED_EXPIRY_SECONDS", 300)

# --- Auth, sessions, security ----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
# Password guesses (accounts/login_throttle.py): failures per username + address within the
# window before a lockout, its first length (doubling to the maximum), and the number of
# proxies in front whose X-Forwarded-For entry names the client (0 = use REMOTE_ADDR).
LOGIN_THROTTLE_FAILURES = env_int("LOGIN_THROTTLE_FAILURES", 5)
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 900)
LOGIN_THROTTLE_LOCKOUT_SECONDS = env_int("LOGIN_THROTTLE_LOCKOUT_SECONDS", 60)
LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS = env_int("LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS", 900)
LOGIN_THROTTLE_TRUSTED_PROXIES = env_int("LOGIN_THROTTLE_TRUSTED_PROXIES", 0)
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SECURE_TLS = env_bool("SECURE_TLS", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_TLS
CSRF_COOKIE_SECURE = SECURE_TLS
SECURE_SSL_REDIRECT = SECURE_TLS and env_bool("SECURE_SSL_REDIRECT", default=True)
# Health probes (load balancers, Kubernetes) call plain HTTP inside the network: not redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_TLS else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if SECURE_TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_TLS
SECURE_HSTS_PRELOAD = SECURE_TLS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Credentials: lifetime of new API tokens/key pairs when none is given (days, 0 = never).
API_CREDENTIAL_DEFAULT_EXPIRY_DAYS = env_int("API_CREDENTIAL_DEFAULT_EXPIRY_DAYS", 365)
# Per-credential rate limit: "<requests>/<seconds>s" (FastLabel documents 10,000 / 10 min).
API_RATE_LIMIT = env("API_RATE_LIMIT", "10000/600s")
# Accepted clock skew for signed (Cytomine-style) requests.
SIGNED_REQUEST_MAX_SKEW_SECONDS = env_int("SIGNED_REQUEST_MAX_SKEW_SECONDS", 300)

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "accounts.authentication.KeyPairAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.CredentialRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "annotator.api.pagination.OffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "annotator.api.filters.StrictFilterBackend",
        "annotator.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotator.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON everywhere; the endpoints that receive files add the multipart parser themselves.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Annotator API",
    "DESCRIPTION": (
        "Multi-tenant annotation platform for images, video and DICOM. Every object belongs "
        "to one organization; objects of another organization answer 404. Errors share one "
        "shape: {message, code, errors}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotator.api.schema.document_error_responses",
        "annotator.api.schema.allow_empty_optional_query_parameters",
    ],
}

# --- Product settings ------------------------------------------------------------------
# A job started this many times without finishing (its worker died each time) is failed.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 8)
TASK_LOCK_MINUTES = env_int("TASK_LOCK_MINUTES", 30)
# How often workers sweep expired task locks back into the pool (seconds; 0 = never).
TASK_LOCK_SWEEP_SECONDS = env_int("TASK_LOCK_SWEEP_SECONDS", 60)
# One OpenAPI enum for task statuses (status, from_status, to_status).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["TaskStatusEnum"] = "tasks.models.TaskStatus"
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 2 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 20 * 1024**2)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024**2

# --- Media (owned by the media app; see docs/media.md) -----------------------------------
# Ingest limits. MAX_UPLOAD_BYTES (above) bounds every single file.
MEDIA_MAX_IMAGE_PIXELS = env_int("MEDIA_MAX_IMAGE_PIXELS", 150_000_000)  # decompression-bomb guard
MEDIA_MAX_VIDEO_PIXELS = env_int("MEDIA_MAX_VIDEO_PIXELS", 8192 * 8192)  # width x height of one frame
MEDIA_MAX_VIDEO_SECONDS = env_int("MEDIA_MAX_VIDEO_SECONDS", 4 * 3600)
MEDIA_MAX_TEXT_BYTES = env_int("MEDIA_MAX_TEXT_BYTES", 10 * 1024**2)
MEDIA_MAX_FILES_PER_IMPORT = env_int("MEDIA_MAX_FILES_PER_IMPORT", 20_000)
# Archives (zip/tar): total bytes once expanded, members, and compression ratio per member.
MEDIA_MAX_ARCHIVE_EXPANDED_BYTES = env_int("MEDIA_MAX_ARCHIVE_EXPANDED_BYTES", 20 * 1024**3)
MEDIA_MAX_ARCHIVE_MEMBERS = env_int("MEDIA_MAX_ARCHIVE_MEMBERS", 20_000)
MEDIA_MAX_ARCHIVE_RATIO = env_int("MEDIA_MAX_ARCHIVE_RATIO", 200)
# Files one multipart request may carry (Django refuses more with a 400).
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("MEDIA_MAX_FILES_PER_REQUEST", 1000)
# Resumable uploads: largest chunk per PATCH, and how long an unfinished upload is kept.
MEDIA_CHUNK_MAX_BYTES = env_int("MEDIA_CHUNK_MAX_BYTES", 32 * 1024**2)
MEDIA_UPLOAD_EXPIRY_HOURS = env_int("MEDIA_UPLOAD_EXPIRY_HOURS", 24)
# Derived pictures: thumbnail edge, JPEG quality of served frames, frames per timetable page.
MEDIA_THUMBNAIL_SIZE = env_int("MEDIA_THUMBNAIL_SIZE", 256)
MEDIA_JPEG_QUALITY = env_int("MEDIA_JPEG_QUALITY", 90)
MEDIA_TIMETABLE_MAX_FRAMES = env_int("MEDIA_TIMETABLE_MAX_FRAMES", 10_000)
# Playback copies (libx264): preset and quality (CRF; lower is better and bigger).
MEDIA_PLAYBACK_PRESET = env("MEDIA_PLAYBACK_PRESET", "veryfast")
MEDIA_PLAYBACK_CRF = env_int("MEDIA_PLAYBACK_CRF", 23)
# An import or video whose database or storage failed is tried again this long after (ms;
# doubling, with jitter; three retries, then the job fails naming the cause).
MEDIA_RETRY_BACKOFF_MS = env_int("MEDIA_RETRY_BACKOFF_MS", 2_000)
# Workers reading from object storage keep local copies here (LRU, bounded).
MEDIA_LOCAL_CACHE_DIR = Path(env("MEDIA_LOCAL_CACHE_DIR", str(DATA_DIR / "media-cache")))
MEDIA_LOCAL_CACHE_BYTES = env_int("MEDIA_LOCAL_CACHE_BYTES", 10 * 1024**3)
# Imports are jobs too: name the job status enum once in the API schema.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["JobStatusEnum"] = "jobs.models.JobStatus"
# --- end Media -------------------------------------------------------------------------------

# --- ML (owned by the ml app; see docs/ml.md) --------------------------------------------
# SAM 2.1 weights: a checkpoint file and the config (inside the sam2 package) of the same
# size: tiny sam2.1_hiera_t, small sam2.1_hiera_s, base_plus sam2.1_hiera_b+, large
# sam2.1_hiera_l (configs/sam2.1/<name>.yaml). No checkpoint = SAM endpoints answer 503.
SAM2_CHECKPOINT = env("SAM2_CHECKPOINT")
SAM2_CONFIG = env("SAM2_CONFIG", "configs/sam2.1/sam2.1_hiera_t.yaml")
# "auto" = cuda when available, else cpu; or any torch device ("cuda:1", "cpu").
ML_DEVICE = env("ML_DEVICE", "auto")
# Torch CPU threads in ML workers (0 = torch's default).
ML_TORCH_THREADS = env_int("ML_TORCH_THREADS", 0)
# SAM image embeddings kept per worker process (LRU, bounded by count and by size).
ML_EMBEDDING_CACHE_ITEMS = env_int("ML_EMBEDDING_CACHE_ITEMS", 32)
ML_EMBEDDING_CACHE_MB = env_int("ML_EMBEDDING_CACHE_MB", 1024)
# How long a click waits for the ML worker's answer before a 503 "retry" (seconds).
ML_INTERACTIVE_TIMEOUT_SECONDS = env_int("ML_INTERACTIVE_TIMEOUT_SECONDS", 30)
# Threads per ML worker process that answer clicks (the interactive lane, ml/lane.py).
ML_INTERACTIVE_THREADS = env_int("ML_INTERACTIVE_THREADS", 2)
# Organization models: largest TorchScript upload, images per batch request, models kept loaded.
ML_MODEL_MAX_BYTES = env_int("ML_MODEL_MAX_BYTES", 2 * 1024**3)
ML_INFERENCE_MAX_IMAGES = env_int("ML_INFERENCE_MAX_IMAGES", 100)
ML_LOADED_MODELS = env_int("ML_LOADED_MODELS", 4)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ModelKindEnum": "ml.models.ModelKind",
        "AutoAnnotationModeEnum": "ml.models.AutoAnnotationMode",
        "PropagationDirectionEnum": "ml.models.Direction",
    }
)
# --- end ML ----------------------------------------------------------------------------------

# --- Peer-client compatibility (compat app; see docs/compat.md) ------------------------------
# Session opened by a signed Cytomine request (reads of the same client session), seconds.
CYTOMINE_SESSION_SECONDS = env_int("CYTOMINE_SESSION_SECONDS", 8 * 3600)
# How long POST /api/detect waits for the ML worker before answering 503 with the run id.
COMPAT_DETECT_TIMEOUT_SECONDS = env_int("COMPAT_DETECT_TIMEOUT_SECONDS", 300)
# --- end compat ------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = timedelta(days=14).total_seconds().__int__()

# --- Exports (exports app) ------------------------------------------------------------------
# Folder where export zips are built before they go to storage (default: the system's temp).
EXPORT_TEMP_DIR = env("EXPORT_TEMP_DIR")
# An export whose storage failed is tried again this long after (ms; doubling, with jitter;
# three retries, then the job fails).
EXPORTS_RETRY_BACKOFF_MS = env_int("EXPORTS_RETRY_BACKOFF_MS", 15_000)
# Import caps: one streamed annotation file (COCO JSON), one per-image file (labelme JSON, VOC
# XML, YOLO txt, mask PNG), an archive's unpacked size and member count.
EXPORTS_IMPORT_MAX_FILE_BYTES = env_int("EXPORTS_IMPORT_MAX_FILE_BYTES", 512 * 1024**2)
EXPORTS_IMPORT_MAX_SMALL_FILE_BYTES = env_int("EXPORTS_IMPORT_MAX_SMALL_FILE_BYTES", 64 * 1024**2)
EXPORTS_IMPORT_MAX_EXTRACTED_BYTES = env_int("EXPORTS_IMPORT_MAX_EXTRACTED_BYTES", 8 * 1024**3)
EXPORTS_IMPORT_MAX_MEMBERS = env_int("EXPORTS_IMPORT_MAX_MEMBERS", 200_000)
# --- end Exports
