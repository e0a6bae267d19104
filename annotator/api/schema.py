"""OpenAPI schema post-processing: what every operation shares, documented once.

* **Errors.**
Views document their success answers and the errors particular to them (409, 423...). The
errors any operation can give — bad input, no or bad credentials, a role that may not, an
object that is not in your organization, the rate limit, a body of the wrong media type, a
service the request needs that is down — are added here to every operation that lacks them,
with the error body of the face it belongs to (``/api/v1/``, Cytomine, detection service).
The schema fuzz (tests/hardening) checks every answer against this.
* **Empty query values.** An optional query parameter sent empty (``?limit=&status=``) is
  treated as not sent, by paging and by every filter: the schema says so with
  ``allowEmptyValue``.
"""

from __future__ import annotations

from typing import Any

ERRORS = {
    "400": "Invalid input: `message` names the first problem, `errors` every field.",
    "401": "Not signed in, or the credential is unknown, revoked or expired (the message says which).",
    "403": "Your role may not do this (the message names the roles that may), or CSRF failed.",
    "404": "No such object in your organization (another organization's objects answer the same).",
    "415": "The body's media type is not one this operation reads.",
    "429": "Rate limit of this credential exceeded; retry after `Retry-After` seconds.",
    "503": "A service this request needs (database, Redis, ML worker) is unavailable; retry later.",
}


def _error_component(path: str) -> str:
    if path.startswith("/api/v1/"):
        return "Message"  # annotator.api.serializers.MessageSerializer
    if path.startswith(("/api/detect", "/api/data/")):
        return "DetectionError"  # compat.api.detection.DetectionErrorSerializer
    return "CytomineError"  # compat.api.base.CytomineErrorSerializer


def document_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for path, item in result.get("paths", {}).items():
        name = _error_component(path)
        if name not in schemas:
            raise ValueError(f"the error body {name} of {path} is not a schema component")
        component = {"$ref": f"#/components/schemas/{name}"}
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                if status == "401" and operation.get("security") == [{}]:
                    continue  # an operation that needs no credential never says 401
                if status == "415" and "requestBody" not in operation:
                    continue
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": component}}}
                )
    return result


def allow_empty_optional_query_parameters(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: ``allowEmptyValue`` on optional query parameters."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
