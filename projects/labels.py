"""Validation of label classes and their attribute schemas, shared by the label API, the
template library and the template JSON import preview. Pure functions: no database.

A label row is ``{"name", "color", "maskid", "z_order", "category", "attributes",
"aliases", "keypoints"}``; only ``name`` and ``color`` are required. ``maskid`` is 0-255 and
unique in a label set; 0 is reserved for the "unclassified" class (painted like background
in GT masks). Attribute schemas are lists of
``{"name", "type": select|multiselect|checkbox|number|text, "options", "min", "max",
"max_length", "default", "required"}``.
"""

from __future__ import annotations

import math
import re
from typing import Any

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
NAME_MAX = 100
MASKID_MIN, MASKID_MAX = 0, 255
UNCLASSIFIED_MASKID = 0
ATTRIBUTE_TYPES = ("select", "multiselect", "checkbox", "number", "text")
LABEL_KEYS = ("name", "color", "maskid", "z_order", "category", "attributes", "aliases", "keypoints")
_ATTR_KEYS = {"name", "type", "options", "min", "max", "step", "max_length", "default", "required"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def check_name(value: Any) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return ["name is required (a non-empty string)."]
    if len(value.strip()) > NAME_MAX:
        return [f"name is longer than {NAME_MAX} characters."]
    return []


def check_color(value: Any) -> list[str]:
    if not isinstance(value, str) or not COLOR_RE.match(value):
        return [f"color must look like #RRGGBB (six hex digits), got {value!r}."]
    return []


def check_maskid(value: Any) -> list[str]:
    if not _is_int(value) or not MASKID_MIN <= value <= MASKID_MAX:
        return [f"maskid must be an integer from {MASKID_MIN} to {MASKID_MAX}, got {value!r}."]
    return []


def check_aliases(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        return ["aliases must be a list of non-empty strings."]
    if any(len(a) > NAME_MAX for a in value):
        return [f"each alias must be at most {NAME_MAX} characters."]
    lowered = [a.strip().lower() for a in value]
    if len(set(lowered)) != len(lowered):
        return ["aliases contain duplicates."]
    return []


def check_keypoints(value: Any) -> list[str]:
    if value in (None, {}):
        return []
    if not isinstance(value, dict) or set(value) - {"names", "edges"}:
        return ['keypoints must be {"names": [...], "edges": [[i, j], ...]}.']
    names = value.get("names", [])
    edges = value.get("edges", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        return ["keypoints.names must be a list of non-empty strings."]
    if len(set(names)) != len(names):
        return ["keypoints.names contain duplicates."]
    errors = []
    if not isinstance(edges, list):
        return ["keypoints.edges must be a list of [i, j] index pairs."]
    for k, edge in enumerate(edges):
        if (
            not isinstance(edge, list)
            or len(edge) != 2
            or not all(_is_int(i) for i in edge)
            or not all(0 <= i < len(names) for i in edge)
            or edge[0] == edge[1]
        ):
            errors.append(f"keypoints.edges[{k}] must be two different indexes into names (0-{len(names) - 1}).")
    return errors


def check_attribute_schema(value: Any) -> list[str]:
    """Errors in an attribute schema (a list of attribute specs)."""
    if value in (None, []):
        return []
    if not isinstance(value, list):
        return ["attributes must be a list of attribute definitions."]
    errors: list[str] = []
    seen: set[str] = set()
    for i, spec in enumerate(value):
        where = f"attributes[{i}]"
        if not isinstance(spec, dict):
            errors.append(f"{where} must be an object.")
            continue
        unknown = set(spec) - _ATTR_KEYS
        if unknown:
            errors.append(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
            errors.append(f"{where}.name is required (1-{NAME_MAX} characters).")
        elif name in seen:
            errors.append(f"{where}.name {name!r} is defined twice.")
        else:
            seen.add(name)
        kind = spec.get("type")
        if kind not in ATTRIBUTE_TYPES:
            errors.append(f"{where}.type must be one of {', '.join(ATTRIBUTE_TYPES)}, got {kind!r}.")
            continue
        if kind in ("select", "multiselect"):
            options = spec.get("options")
            if not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options):
                errors.append(f"{where}.options must be a non-empty list of strings for a {kind}.")
            elif len(set(options)) != len(options):
                errors.append(f"{where}.options contain duplicates.")
        if kind == "number":
            lo, hi = spec.get("min"), spec.get("max")
            for key in ("min", "max", "step"):
                if spec.get(key) is not None and not _is_number(spec[key]):
                    errors.append(f"{where}.{key} must be a number.")
            if _is_number(lo) and _is_number(hi) and lo > hi:
                errors.append(f"{where}: min ({lo}) is greater than max ({hi}).")
        if (
            kind == "text"
            and spec.get("max_length") is not None
            and (not _is_int(spec["max_length"]) or spec["max_length"] < 1)
        ):
            errors.append(f"{where}.max_length must be a positive integer.")
        if "default" in spec and spec["default"] is not None and not errors:
            errors.extend(f"{where}.default: {e}" for e in _check_value(spec, spec["default"]))
        if "required" in spec and not isinstance(spec["required"], bool):
            errors.append(f"{where}.required must be true or false.")
    return errors


def _check_value(spec: dict, value: Any) -> list[str]:
    kind = spec["type"]
    if kind == "select":
        if value not in spec.get("options", []):
            return [f"{value!r} is not one of {spec.get('options')}."]
    elif kind == "multiselect":
        if not isinstance(value, list) or any(v not in spec.get("options", []) for v in value):
            return [f"must be a list of values from {spec.get('options')}."]
    elif kind == "checkbox":
        if not isinstance(value, bool):
            return ["must be true or false."]
    elif kind == "number":
        if not _is_number(value):
            return ["must be a number."]
        if spec.get("min") is not None and value < spec["min"]:
            return [f"{value} is below the minimum {spec['min']}."]
        if spec.get("max") is not None and value > spec["max"]:
            return [f"{value} is above the maximum {spec['max']}."]
    elif kind == "text":
        if not isinstance(value, str):
            return ["must be a string."]
        limit = spec.get("max_length") or 1000
        if len(value) > limit:
            return [f"is longer than {limit} characters."]
    return []


def check_attribute_values(schema: list[dict], values: Any) -> dict[str, list[str]]:
    """Errors of an annotation's attribute values against its label's schema, by attribute."""
    if values in (None, {}):
        values = {}
    if not isinstance(values, dict):
        return {"attributes": ['must be an object {"name": value}.']}
    specs = {spec["name"]: spec for spec in schema or []}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name not in specs:
            allowed = ", ".join(sorted(specs)) or "none"
            errors[name] = [f"unknown attribute for this label (allowed: {allowed})."]
            continue
        problems = _check_value(specs[name], value)
        if problems:
            errors[name] = problems
    for name, spec in specs.items():
        if spec.get("required") and name not in values:
            errors[name] = ["is required for this label."]
    return errors


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def validate_label_rows(rows: Any) -> tuple[list[dict], dict[int, dict[str, list[str]]]]:
    """Validate a whole label set. Returns (normalized rows, {row index: {field: [errors]}}).

    Missing maskids are assigned the lowest free value from 1; missing z_orders follow the
    row order. Names, aliases and maskids must be unique across the set.
    """
    errors: dict[int, dict[str, list[str]]] = {}

    def add(index: int, field: str, messages: list[str]) -> None:
        if messages:
            errors.setdefault(index, {}).setdefault(field, []).extend(messages)

    if not isinstance(rows, list):
        return [], {-1: {"labels": ["labels must be a list of label objects."]}}
    clean: list[dict] = []
    used_maskids: dict[int, int] = {}
    names: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            add(index, "non_field_errors", ["each label must be an object."])
            clean.append({})
            continue
        unknown = set(row) - set(LABEL_KEYS)
        if unknown:
            add(
                index,
                "non_field_errors",
                [f"unknown keys: {', '.join(sorted(unknown))} (allowed: {', '.join(LABEL_KEYS)})."],
            )
        add(index, "name", check_name(row.get("name")))
        add(index, "color", check_color(row.get("color")))
        if row.get("maskid") is not None:
            add(index, "maskid", check_maskid(row["maskid"]))
        if row.get("z_order") is not None and not (_is_int(row["z_order"]) and abs(row["z_order"]) < 2**31):
            add(index, "z_order", ["z_order must be an integer."])
        category = row.get("category", "")
        if category is not None and (not isinstance(category, str) or len(category) > NAME_MAX):
            add(index, "category", [f"category must be a string of at most {NAME_MAX} characters."])
        add(index, "attributes", check_attribute_schema(row.get("attributes", [])))
        add(index, "aliases", check_aliases(row.get("aliases", [])))
        add(index, "keypoints", check_keypoints(row.get("keypoints")))

        name = row.get("name").strip() if isinstance(row.get("name"), str) else None
        if name:
            key = name.lower()
            if key in names:
                add(index, "name", [f"duplicate name {name!r} (also row {names[key]})."])
            else:
                names[key] = index
        maskid = row.get("maskid")
        if _is_int(maskid) and MASKID_MIN <= maskid <= MASKID_MAX:
            if maskid in used_maskids:
                add(index, "maskid", [f"maskid {maskid} clashes with row {used_maskids[maskid]}."])
            else:
                used_maskids[maskid] = index
        z_order = row.get("z_order")
        clean.append(
            {
                "name": name,
                "color": row["color"].lower() if isinstance(row.get("color"), str) else row.get("color"),
                "maskid": maskid,
                "z_order": z_order if z_order is not None else index,
                "category": category or "",
                # A value of the wrong type has its error above; keep the row's shape regardless.
                "attributes": row.get("attributes") if isinstance(row.get("attributes"), list) else [],
                "aliases": [a.strip() for a in _list(row.get("aliases")) if isinstance(a, str)],
                "keypoints": row.get("keypoints") if isinstance(row.get("keypoints"), dict) else {},
            }
        )
    # Aliases must not shadow another label's name or alias (AI output maps back through them).
    owner: dict[str, int] = dict(names)
    for index, row in enumerate(clean):
        for alias in row.get("aliases", []):
            key = alias.lower()
            if key in owner and owner[key] != index:
                add(index, "aliases", [f"alias {alias!r} is already used by row {owner[key]}."])
            owner.setdefault(key, index)
    # Assign missing maskids, lowest free first (0 stays reserved for "unclassified").
    free = (m for m in range(1, MASKID_MAX + 1) if m not in used_maskids)
    for index, row in enumerate(clean):
        if row and row.get("maskid") is None:
            value = next(free, None)
            if value is None:
                add(index, "maskid", ["no free maskid left (1-255 are all used)."])
            row["maskid"] = value
    return clean, errors
