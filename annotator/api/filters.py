"""Strict list filters: a value a filter cannot read is a 400, never silently ignored.

django-filter's defaults forgive: ``?resolved=banana`` or ``?is_default=7`` filter nothing,
``?priority=1.5`` compares an integer column with a decimal, and a foreign-key filter checks
the id against every row of the table — so ``?project=<id>`` answered differently for an id
that exists in another organization (an empty page) and one that exists nowhere ("Select a
valid choice"), telling anyone which ids other organizations use. Here booleans must be
``true`` or ``false``, integer columns take integers, and foreign keys are filtered by plain id (an
id outside your organization simply matches nothing, like one that does not exist). An
empty value still means "not given".
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


class StrictIntegerField(forms.IntegerField):
    """Digits only: Django's IntegerField also reads "1.0" and "1e0" as 1."""

    def to_python(self, value):
        if value not in self.empty_values and not re.fullmatch(r"[+-]?[0-9]+", str(value).strip()):
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
