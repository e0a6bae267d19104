"""Serializer bases: every input is validated strictly at the edge.

Unknown fields are refused (a typo must not be silently ignored), and the message names the
fields that are allowed.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


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
