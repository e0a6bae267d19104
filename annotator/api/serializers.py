"""Serializer bases: every input is validated strictly at the edge.

Unknown fields are refused (a typo must not be silently ignored), and the message names the
fields that are allowed. In a JSON body every value must have the JSON type the schema
gives it: DRF alone turns ``{"name": 0}`` into ``"0"``, ``{"flag": "yes"}`` into ``True`` and
``{"count": "5"}`` into ``5``; and a string field's length limit applies to the string as
sent, before DRF trims its ends. Form bodies (multipart uploads) carry text only; there the
fields' own parsing applies.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import serializers


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    """What is wrong with ``value``'s JSON type for ``field`` (None if nothing)."""
    if value is None:
        return None  # the field's own allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(value, bool):
        if isinstance(field, (serializers.CharField, serializers.IntegerField, serializers.FloatField)):
            return "Must not be true or false."
        return None
    if isinstance(field, serializers.CharField) and not isinstance(field, serializers.ChoiceField):
        return None if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.IntegerField):
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return None
        return "Must be an integer."
    if isinstance(field, serializers.FloatField):
        return None if isinstance(value, (int, float)) else "Must be a number."
    if isinstance(field, serializers.ListField) and not isinstance(value, list):
        return "Must be a list."
    if isinstance(field, serializers.DictField) and not isinstance(value, dict):
        return "Must be an object."
    if isinstance(field, serializers.ListField) and field.child is not None:
        for index, item in enumerate(value):
            problem = _json_type_error(field.child, item)
            if problem:
                return f"Item {index}: {problem}"
    return None


def _too_long(field: serializers.Field, value: Any) -> str | None:
    """A string longer than its field allows, measured as sent: DRF trims first, and
    str.strip() also takes the control characters \x1c-\x1f, so 5,001 characters ending in
    them passed a 5,000 limit (schema fuzz). List items keep DRF's check (errors keyed by index)."""
    limit = field.max_length if isinstance(field, serializers.CharField) else None
    if limit is not None and isinstance(value, str) and len(value) > limit:
        return f"Ensure this field has no more than {limit} characters."
    return None


class RejectUnknownFieldsMixin:
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                allowed = ", ".join(sorted(writable)) or "none"
                raise serializers.ValidationError(
                    {key: [f"Unknown field. Allowed fields: {allowed}."] for key in unknown}
                )
            if not isinstance(data, QueryDict):  # JSON: types are the schema's
                wrong = {}
                for name, value in data.items():
                    problem = _json_type_error(self.fields[name], value) or _too_long(self.fields[name], value)
                    if problem:
                        wrong[name] = [problem]
                if wrong:  # report them with every other field's errors, as one answer
                    try:
                        super().to_internal_value({k: v for k, v in data.items() if k not in wrong})
                    except serializers.ValidationError as exc:
                        if isinstance(exc.detail, dict):
                            for name, messages in exc.detail.items():
                                wrong.setdefault(name, messages)
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A plain serializer that refuses unknown input fields."""


class StrictModelSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A model serializer that refuses unknown input fields."""


class MessageSerializer(serializers.Serializer):
    """The error body every 4xx/5xx answer carries (for the OpenAPI schema)."""

    message = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
