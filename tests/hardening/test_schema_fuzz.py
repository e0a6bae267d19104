"""Schema fuzz: schemathesis against our OpenAPI schema, on a live server.

daphne serves the product on this session's PostgreSQL test database and Redis, a Dramatiq
worker process runs every queue (SAM 2.1 tiny with random weights on the ML queue), and
``schemathesis run`` drives every operation of ``/api/schema/`` with an organization owner's
API token: examples, boundary values (coverage phase), random valid and invalid input
(fuzzing) and chains of calls along links inferred from the schema (stateful). Seeded
objects of every model give the path parameters real ids half the time.

Passes only with zero failures of any check: no 5xx, every answer matching the schema
(status code documented, body valid, content type and headers as declared), invalid input
refused, no operation that ignores missing credentials, no deleted object still served.

CI runs at least 2,000 cases; the long mode (``--long`` / ``ANNOTATOR_LONG_TESTS=1``) at
least 20,000. ``FUZZ_EXAMPLES`` and ``FUZZ_SEED`` override the examples per operation and
the seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import World, long_mode
from tests.hardening.conftest import ALL_QUEUES
from tests.hardening.stack import ROOT, Daphne, DramatiqWorker
from tests.routes import NON_ID_KWARGS, object_values, openapi_schema, schema_paths_with_parameters

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CONFIG = Path(__file__).with_name("schemathesis.toml")
MIN_CASES = 20_000 if long_mode() else 2_000
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 200 if long_mode() else 4))
SEED = int(os.environ.get("FUZZ_SEED", 20261125))
SETS_PER_PATH = 4 if long_mode() else 2
FUZZ_TIMEOUT = 4 * 3600 if long_mode() else 1500


def seed_objects(world: World, token_id: int) -> tuple[str, dict]:
    """Real objects for every schema path with parameters, as schemathesis configuration:
    one dictionary of ids per (path, method, parameter) — DELETE gets objects of its own, so
    deleting never empties what the other methods use — drawn for half the cases; and the
    ids a case must not touch (the fuzzing credential and its owner's membership)."""
    schema = openapi_schema()
    paths, problems = schema_paths_with_parameters(schema)
    assert not problems, problems
    sections: list[str] = []
    shared: dict[str, list[dict]] = {}
    for schema_path in paths:
        for method in schema_path.methods:
            kind = "delete" if method == "delete" else "shared"
            if kind == "shared" and schema_path.path in shared:
                sets = shared[schema_path.path]
            else:
                sets = []
                for _ in range(SETS_PER_PATH):
                    values, problems = object_values(schema_path.kwargs, schema_path.view_class, world)
                    assert not problems, (schema_path.path, problems)
                    sets.append(values)
                if kind == "shared":
                    shared[schema_path.path] = sets
            bindings = []
            declared = {
                p["name"]: p.get("schema", {}).get("type")
                for p in schema["paths"][schema_path.path][method].get("parameters", [])
                if p.get("in") == "path"
            }
            for name in schema_path.kwargs:
                if name in NON_ID_KWARGS:
                    continue
                dictionary = f"d{len(sections)}_{name}"
                cast = int if declared.get(name) == "integer" else str  # as the schema types it
                ids = sorted({cast(values[name]) for values in sets})
                sections.append(f"[dictionaries.{dictionary}]\nvalues = {json.dumps(ids)}\n")
                bindings.append(f'"path.{name}" = {{ dictionary = "{dictionary}", probability = 0.5 }}')
            if bindings:
                sections.append(
                    "[[operations]]\n"
                    f"include-path = {json.dumps(schema_path.path)}\n"
                    f'include-method = "{method.upper()}"\n'
                    f"parameters = {{ {', '.join(bindings)} }}\n"
                )
    owner_membership = str(world.membership("owner").pk)
    protected = {
        "DELETE /api/v1/me/tokens/{id}": [str(token_id)],
        "DELETE /api/v1/members/{id}": [owner_membership],
        "PATCH /api/v1/members/{id}": [owner_membership],
    }
    return "\n".join(sections), {"protected": protected}


@pytest.mark.timeout(FUZZ_TIMEOUT + 600)
def test_the_api_survives_schemathesis_with_zero_failures(stack_env, start, sam_checkpoint, tmp_path):
    from accounts.services import create_api_token

    world = World("fuzz")
    token_row, token = create_api_token(user=world.owner, organization=world.org, name="fuzz")
    generated, protected = seed_objects(world, token_row.pk)
    seed_file = tmp_path / "fuzz-seed.json"
    seed_file.write_text(json.dumps(protected))
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.read_text() + "\n# --- generated: ids of seeded objects ---\n" + generated)

    env = stack_env(
        API_RATE_LIMIT="100000000/600s",  # the fuzz is one credential sending thousands of requests
        SAM2_CHECKPOINT=sam_checkpoint,
        SAM2_CONFIG="tiny",
        ML_DEVICE="cpu",
        ML_TORCH_THREADS=1,
        COMPAT_DETECT_TIMEOUT_SECONDS=30,
        ML_INTERACTIVE_TIMEOUT_SECONDS=30,
    )
    logs = tmp_path / "logs"
    server = start(Daphne(env=env, log_dir=logs))
    worker = start(DramatiqWorker(env=env, log_dir=logs, queues=ALL_QUEUES, threads=2))

    report = tmp_path / "fuzz-report.json"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{server.url}/api/schema/",
        "--header",
        f"Authorization: Token {token}",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2" if long_mode() else "1",
        "--no-shrink",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    fuzz_env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.hardening.fuzz_hooks", "ANNOTATOR_FUZZ_SEED": str(seed_file)}
    fuzz_env["PYTHONPATH"] = str(ROOT)
    output_path = tmp_path / "fuzz-output.txt"  # written as it goes: tail it to watch a long run
    with output_path.open("w") as output_file:
        run = subprocess.run(
            command, cwd=ROOT, env=fuzz_env, stdout=output_file, stderr=subprocess.STDOUT, timeout=FUZZ_TIMEOUT
        )
    output = output_path.read_text(errors="replace")
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]["generated"]
    print(f"schema fuzz: {cases} cases, {summary['operations']['tested']} operations, seed {SEED}")
    assert summary["operations"]["tested"] == summary["operations"]["total"], summary["operations"]
    assert not summary["failures"] and not summary["errors"], (
        f"{summary['failures']}\n{summary['errors']}\n{output[-20000:]}\n--- server log:\n{server.log_tail()}"
    )
    assert run.returncode == 0, output[-5000:]
    assert cases >= MIN_CASES, f"only {cases} cases (at least {MIN_CASES}): raise FUZZ_EXAMPLES"
    assert worker.alive(), worker.log_tail()
