"""Schemathesis hooks for the schema fuzz (loaded by the ``schemathesis run`` process through
``SCHEMATHESIS_HOOKS=tests.hardening.fuzz_hooks``; no Django here).

Real ids for the path parameters come from the generated config (dictionaries, see
test_schema_fuzz.py). Here: the fuzzing credential is protected — a case that would revoke
it, or demote or remove its owner, is pointed at an id that does not exist instead (the
seed file ``ANNOTATOR_FUZZ_SEED`` lists them) — and the tus chunk media type is declared.
"""

from __future__ import annotations

import json
import os
from functools import cache

import schemathesis

MISSING_ID = 2**62


@cache
def seed() -> dict:
    path = os.environ.get("ANNOTATOR_FUZZ_SEED")
    if not path:
        return {"paths": {}, "protected": {}}
    with open(path) as handle:
        return json.load(handle)


@schemathesis.hook
def before_call(context, case, kwargs):
    protected = seed()["protected"].get(f"{case.method.upper()} {case.operation.path}")
    if protected and case.path_parameters and str(case.path_parameters.get("id")) in protected:
        case.path_parameters["id"] = MISSING_ID


# Resumable-upload chunks (tus) are raw bytes, like application/octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
