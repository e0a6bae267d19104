"""Settings for the test suite: the production shape on this machine's real services.

PostgreSQL and Redis on 127.0.0.1 (override with DATABASE_URL / REDIS_URL, e.g. to run
several suites side by side); Dramatiq on the stub broker so tests drive workers themselves
(one test runs a real worker process on the Redis broker).
"""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/annotator")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DRAMATIQ_BROKER_URL", "stub://")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("ANNOTATOR_DATA_DIR", tempfile.mkdtemp(prefix="annotator-test-"))
os.environ.setdefault("DEBUG", "false")
# The test runner renames the database to the test database after Django is set up; a
# connection pool opened before that would keep pointing at the original.
os.environ.setdefault("DATABASE_POOL_SIZE", "0")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test-{os.getpid()}")
os.environ.setdefault("CHANNEL_LAYER_PREFIX", f"test-{os.getpid()}")

from annotator.settings import *  # noqa: F403

# Fast hashing: the suite creates hundreds of users. Production keeps Django's default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
DRAMATIQ_IN_PROCESS_WORKER = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
