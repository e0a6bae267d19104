"""What every compat endpoint shares: authentication as peer clients send it, tenancy through
``TenantAPIView``, Cytomine's list envelope and paging, and its error and query conventions."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from accounts.authentication import KeyPairAuthentication, SessionAuthentication, TokenAuthentication
from annotator.api.errors import exception_handler
from annotator.api.filters import is_integer_text
from compat.authentication import CytomineSessionAuthentication, remember_key_pair
from organizations.api.base import TenantAPIView, is_valid_id

# ``?max=0`` (the client's default) means "everything", as in Cytomine; beyond this many
# rows the caller is asked to page instead of building one enormous response.
MAX_UNPAGED = 100_000
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off", "")

# Shared by the Cytomine views' schema declarations.
READ = {"get": "project.view"}
PAGING = [
    OpenApiParameter("max", int, description="Items per page; 0 (default) = all."),
    OpenApiParameter("offset", int, description="Index of the first item."),
]


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
class _MessageOrMessages(serializers.JSONField):
    pass


class CytomineErrorSerializer(serializers.Serializer):
    """Cytomine's error body: ours plus ``success: false``; ``errors`` maps a field to its
    messages, or ``message`` to the message when no field is at fault."""

    success = serializers.BooleanField(required=False, help_text="false (absent on a 404 for a path no route has).")
    message = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=_MessageOrMessages(), required=False)


# Query parameters naming objects as Cytomine clients send them: one id, ids separated by
# commas, or null/None (the official client sends "null" for "not given").
ID_LIST_PATTERN = r"^(null|None|[0-9]+(,[0-9]+)*)?$"


def id_list_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, pattern=ID_LIST_PATTERN, description=description)


# Flags as Cytomine clients send them (compat.api.base.flag reads these words).
FLAG_WORDS = ["true", "false", "True", "False", "1", "0", "yes", "no", "on", "off"]


def flag_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, enum=FLAG_WORDS, description=description)


ERRORS = {400: CytomineErrorSerializer, 403: CytomineErrorSerializer, 404: CytomineErrorSerializer}


def cytomine_exception_handler(exc: Exception, context: dict[str, Any]):
    """Our error body plus Cytomine's keys: ``{"success": false, "errors": ..., "message", "code"}``."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "message" in response.data:
        body = {"success": False, **response.data}
        body.setdefault("errors", {"message": response.data["message"]})
        response.data = body
    return response


class FirstRendererNegotiation(BaseContentNegotiation):
    """Image endpoints answer with their picture whatever ``Accept`` says (as Cytomine does)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CompatView(TenantAPIView):
    """Base of every compat endpoint (Cytomine and detection contract)."""

    authentication_classes = [
        TokenAuthentication,
        KeyPairAuthentication,
        CytomineSessionAuthentication,
        SessionAuthentication,
    ]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def get_exception_handler(self):
        return cytomine_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        remember_key_pair(request)
        return super().finalize_response(request, response, *args, **kwargs)


class CytomineObjectView(CompatView):
    """A Cytomine route naming one of our objects by ``{id}``: looked up in the caller's
    organization before anything else (404 for a missing or foreign one)."""

    model: ClassVar[Any] = None
    noun: ClassVar[str] = "object"

    def object_queryset(self):
        return self.model.objects.for_organization(self.request.organization)

    def resolve_objects(self) -> None:
        value = self.kwargs.get("id")
        found = self.object_queryset().filter(pk=value).first() if is_valid_id(value) else None
        if found is None:
            raise Http404(f"{self.noun} not found with id : {value}")
        self.object = found


# --- query parameters --------------------------------------------------------------------
def flag(request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise exceptions.ValidationError({name: [f"Must be true or false, got {raw!r}."]})


def integer(request, name: str, *, default: int | None = None, minimum: int = 0, maximum: int = 2**62) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if not is_integer_text(raw):
        raise exceptions.ValidationError({name: [f"Must be an integer, got {raw!r}."]})
    value = int(raw)
    if not minimum <= value <= maximum:
        raise exceptions.ValidationError({name: [f"Must be between {minimum} and {maximum}, got {value}."]})
    return value


def id_list(request, *names: str) -> list[int] | None:
    """Ids from ``?image=3`` or ``?images=3,4`` (the first of ``names`` that is present)."""
    for name in names:
        raw = request.query_params.get(name)
        if raw in (None, "", "null", "None"):
            continue
        values = []
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            if not is_valid_id(part):
                raise exceptions.ValidationError({name: [f"Must be ids separated by commas, got {raw!r}."]})
            values.append(int(part))
        return values
    return None


def envelope(request, items, serialize) -> dict[str, Any]:
    """Cytomine's list envelope with its paging (``max``, 0 = all; ``offset``)."""
    per_page = integer(request, "max", default=0)
    offset = integer(request, "offset", default=0)
    total = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    if per_page == 0 and total - offset > MAX_UNPAGED:
        raise exceptions.ValidationError(
            {"max": [f"{total} items: ask for pages of at most {MAX_UNPAGED} (?max=...&offset=...)."]}
        )
    end = total if per_page == 0 else offset + per_page
    page = list(items[offset:end]) if offset < total else []
    shown = total if per_page == 0 else min(per_page, total)
    return {
        "collection": [serialize(item) for item in page],
        "offset": offset,
        "perPage": shown,
        "size": total,
        "totalPages": (1 if total else 0) if per_page == 0 else math.ceil(total / per_page),
    }
