"""Entry module for Dramatiq worker processes: ``dramatiq annotator.worker``.

Setting up Django configures the broker (jobs.apps) and imports every app's actors.
Prefer ``python manage.py rundramatiq``, which calls this with sensible defaults.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
django.setup()
