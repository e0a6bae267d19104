"""Offset/limit paging for every list: ``?limit=`` (1-1000, default 100) and ``?offset=``."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from annotator.api.filters import is_integer_text

MAX_LIMIT = 1000


class OffsetPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = MAX_LIMIT

    def _parse(self, request, name: str, default: int, minimum: int, maximum: int | None) -> int:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        if not is_integer_text(raw):
            raise ValidationError({name: [f"Must be an integer, got {raw!r}."]})
        value = int(raw)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise ValidationError({name: [f"Must be {bound}, got {value}."]})
        return value

    def get_limit(self, request) -> int:
        return self._parse(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request) -> int:
        return self._parse(request, self.offset_query_param, 0, 0, 2**62)

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.limit_query_param:
                param["schema"].update({"minimum": 1, "maximum": self.max_limit, "default": self.default_limit})
            if param["name"] == self.offset_query_param:
                param["schema"].update({"minimum": 0})
        return params
