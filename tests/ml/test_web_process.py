"""The web process never loads a model: its URL conf, views and actor senders import no model
code (``ml.engine``, ``sam2``) — only the ML worker does, when it runs an actor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.test_settings")
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # import every view module
import ml.actors, ml.api.sam_views, ml.api.model_views, ml.services.sam  # noqa
loaded = sorted(m for m in sys.modules if m.startswith(("ml.engine", "sam2")))
print("loaded=" + ",".join(loaded))
"""


def test_the_web_process_imports_no_model_code():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "loaded=", f"model code in the web process: {result.stdout}"
