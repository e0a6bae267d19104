"""Strict list filters: a value a filter cannot read is a 400, never silently ignored.

django-filter's defaults forgive: ``?resolved=banana`` or ``?is_default=7`` filter nothing,
``?priority=1.5`` compares an integer column with a decimal, and a foreign-key filter checks
the id against every row of the table — so ``?project=<id>`` answered differently for an id
that exists in another organization (an empty page) and one that exists nowhere ("Select a
valid choice"), telling anyone which ids other organizations use. Here booleans must be
``true`` or ``false``, integer columns take integers, and foreign keys are filtered by plain id (an
id outside your organization simply matches nothing, like one that does not exist). An
empty value still means "not given".

Ordering is as strict: DRF's ``OrderingFilter`` drops the terms it does not know and a repeated
``ordering`` parameter silently loses all but one value. Here an unknown field, an empty term or
a second ``ordering`` is a 400 naming the fields the list can be ordered by, a list without
``ordering_fields`` has a fixed order (no ``ordering`` in its schema, a 400 if one is sent), and
the id breaks ties so offset pages never repeat or skip a row.
"""

from __future__ import annotations

import datetime
import re

import django_filters
from django import forms
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

# As the schema says (type boolean): true or false; Python's True/False are taken too.
TRUE_WORDS = frozenset({"true"})
FALSE_WORDS = frozenset({"false"})


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        # The value goes in params: django-filter formats the message with them ("%" in a value).
        raise forms.ValidationError("Must be true or false, got %(value)r.", code="invalid", params={"value": value})


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


def is_integer_text(text: str) -> bool:
    """An optional sign and ASCII digits only: int() also reads "1_000", " 7 " and other
    scripts' digits ("１"), and Django's IntegerField "1.0" and "1e0"."""
    return re.fullmatch(r"[+-]?[0-9]+", text) is not None


class StrictIntegerField(forms.IntegerField):
    """Digits only: Django's IntegerField also reads "1.0" and "1e0" as 1."""

    def to_python(self, value):
        if value not in self.empty_values and not is_integer_text(str(value).strip()):
            raise forms.ValidationError("Must be an integer, got %(value)r.", code="invalid", params={"value": value})
        return super().to_python(value)


# Declared, not inferred: on a filter by column name (``field_name="project_id"``) the schema
# generator cannot see the model field and would say "number", promising that 1.5 is read.
@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    field_class = StrictIntegerField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 with any UTC offset Python reads (up to ±23:59), compared in UTC: PostgreSQL
    takes offsets only up to ±15:59, and would fail on ``2026-01-01T00:00-18:00``."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is not None and parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(datetime.UTC)
            except OverflowError:
                raise forms.ValidationError("The date is out of range.", code="invalid") from None
        return parsed


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictFilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.AutoField: {"filter_class": IntegerFilter},
        models.BigAutoField: {"filter_class": IntegerFilter},
        models.SmallIntegerField: {"filter_class": IntegerFilter},
        models.IntegerField: {"filter_class": IntegerFilter},
        models.BigIntegerField: {"filter_class": IntegerFilter},
        models.PositiveIntegerField: {"filter_class": IntegerFilter},
        models.PositiveSmallIntegerField: {"filter_class": IntegerFilter},
        models.PositiveBigIntegerField: {"filter_class": IntegerFilter},
        models.ForeignKey: {"filter_class": IntegerFilter},
        models.OneToOneField: {"filter_class": IntegerFilter},
        models.DateTimeField: {"filter_class": IsoDateTimeFilter},
    }


class StrictFilterBackend(DjangoFilterBackend):
    """``filterset_fields`` of every view build a :class:`StrictFilterSet`."""

    filterset_base = StrictFilterSet


def with_tiebreak(terms) -> list[str]:
    """The terms, then the id (in the first term's direction) unless they name it already."""
    terms = list(terms)
    if not any(term.removeprefix("-") in ("id", "pk") for term in terms):
        terms.append("-pk" if terms[0].startswith("-") else "pk")
    return terms


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=name,-created_at`` over the view's ``ordering_fields`` only (see the module)."""

    def get_valid_fields(self, queryset, view, context=None):
        # DRF falls back to every serializer field, computed ones included (a 500 on order_by).
        if getattr(view, "ordering_fields", None) is None:
            return []
        return super().get_valid_fields(queryset, view, context)

    def field_names(self, view) -> list[str]:
        return [name for name, _label in self.get_valid_fields(None, view)]

    def get_ordering(self, request, queryset, view):
        values = request.query_params.getlist(self.ordering_param)
        if len(values) > 1:
            raise ValidationError(
                {self.ordering_param: [f"Give ordering once ({len(values)} given); separate its fields with commas."]}
            )
        value = values[0] if values else ""
        if not value:
            return self.get_default_ordering(view)
        allowed = self.field_names(view)
        if not allowed:
            raise ValidationError({self.ordering_param: ["This list has a fixed order; remove ordering."]})
        terms = value.split(",")  # exactly as the schema's pattern says: no spaces
        for term in terms:
            if term.removeprefix("-") not in allowed:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"Cannot order by {term!r}: use {', '.join(allowed)}, each optionally prefixed "
                            "with '-' for descending, separated by commas."
                        ]
                    }
                )
        return with_tiebreak(terms)

    def get_default_ordering(self, view):
        ordering = super().get_default_ordering(view)
        return with_tiebreak(ordering) if ordering else ordering

    def get_schema_operation_parameters(self, view):
        allowed = self.field_names(view)
        if not allowed:
            return []
        field = "-?(?:" + "|".join(re.escape(name) for name in allowed) + ")"
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Order by {', '.join(allowed)}; prefix a field with '-' for descending, separate "
                    "several with commas (ties are broken by id)."
                ),
                "schema": {"type": "string", "pattern": f"^(?:{field}(?:,{field})*)?$"},  # empty: the default
            }
        ]
