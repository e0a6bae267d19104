"""Use cases of the exports app: ``exports`` (request, run, download) and ``imports``."""
