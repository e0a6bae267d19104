"""One JSON shape for every API error.

Every 4xx and 5xx answer of the API looks like::

    {"message": "what went wrong and what to fix", "code": "machine_code",
     "errors": {"field.path": ["message", ...]}}

``errors`` is present only for validation failures; nested fields use dotted paths
(``shapes.2.geometry``). Extra keys (e.g. ``current_revision``, ``allowed``) may be added by
the exception that raised it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a status, a code, a message and optional extra payload keys."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        errors: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=message, code=code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.code = code or self.default_code
        self.errors = errors
        self.extra = extra


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Locked(ApiError):
    status_code = status.HTTP_423_LOCKED
    default_code = "locked"


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.b.0.c": ["msg"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                name = prefix
            for k, v in flatten_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item in ({}, [], None, ""):
                    continue
                name = f"{prefix}.{index}" if prefix else str(index)
                for k, v in flatten_errors(item, name).items():
                    out.setdefault(k, []).extend(v)
    elif detail not in (None, ""):
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _summary(errors: dict[str, list[str]]) -> str:
    if not errors:
        return "Invalid input."
    field, messages = next(iter(errors.items()))
    more = len(errors) - 1
    head = messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
    suffix = f" (and {more} more field error{'s' if more > 1 else ''})" if more > 0 else ""
    return f"Invalid input. {head}{suffix}"


def error_body(message: str, code: str, errors: dict | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else "Not found.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handler (also JSON under /api/) takes it

    if isinstance(exc, ApiError):
        body = error_body(str(exc.detail), exc.code, exc.errors, **exc.extra)
    elif isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        body = error_body(_summary(errors), "invalid", errors)
    elif isinstance(exc, exceptions.ParseError):
        body = error_body(f"Malformed request body: {exc.detail}", "parse_error")
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        body = error_body(
            f"Rate limit exceeded for this credential. Retry in {wait} seconds.",
            "throttled",
            retry_after=wait,
        )
    elif isinstance(exc, exceptions.MethodNotAllowed):
        body = error_body(str(exc.detail), "method_not_allowed")
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, (dict, list)):
            errors = flatten_errors(detail)
            body = error_body(_summary(errors), exc.default_code, errors)
        else:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else exc.default_code
            body = error_body(str(detail), code)
    else:  # pragma: no cover - DRF only returns responses for APIException
        body = error_body("Request failed.", "error")
    response.data = body
    return response


def json_error_view(status_code: int, message: str, code: str):
    def view(request, exception=None):
        return JsonResponse(error_body(message, code), status=status_code)

    return view
