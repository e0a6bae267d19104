"""How daphne serves us: one adjustment to the Twisted request it is built on.

Twisted's ``http.Request`` parses every POST body sent as ``multipart/form-data`` or
``application/x-www-form-urlencoded`` into ``request.args`` before the application sees it —
daphne never reads ``request.args`` (Django parses the body itself, streaming uploads to
disk). That parse reads the whole body into memory and through the ``email`` package (a
multipart import of a few hundred MB costs several times that in RAM), and a body it cannot
parse is answered with an empty ``400`` that never reaches Django (no JSON error, no log).
``parsePOSTFormSubmission`` turns it off; daphne does not pass it, so we set it on each
request. Applied when ``annotator.asgi`` is imported, i.e. by the ``daphne`` command and by
``manage.py embedded``.
"""

from __future__ import annotations


def skip_twisted_form_parsing() -> None:
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # pragma: no cover - daphne is a dependency; only the web role needs it
        return
    if getattr(WebRequest, "_annotator_skips_form_parsing", False):
        return
    original_init = WebRequest.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = __init__
    WebRequest._annotator_skips_form_parsing = True
