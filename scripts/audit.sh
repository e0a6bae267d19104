#!/usr/bin/env bash
# Audit the pinned dependencies for known vulnerabilities with pip-audit: the requirement
# files as pinned (no resolution), then everything installed in .venv (transitive ones too).
#
#   ./scripts/audit.sh            # called by scripts/test.sh
#   AUDIT_REQUIRED=1 ./scripts/audit.sh   # fail when the audit could not be done at all
#
# Exit status: 0 no known vulnerability (or the audit service could not be reached: a
# loud warning, unless AUDIT_REQUIRED=1); 1 vulnerabilities found that are not accepted
# below; 3 the audit could not be done and AUDIT_REQUIRED=1.
# Accepted findings are listed in IGNORED with the reason, and in docs/operations.md.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PIP_AUDIT="$VENV/bin/pip-audit"
PYTHON="$VENV/bin/python"
# Services tried in order until one answers for the packages (pip-audit: pypi, osv).
SERVICES="${AUDIT_SERVICES:-pypi osv}"
TIMEOUT="${AUDIT_TIMEOUT:-15}"

# Accepted vulnerabilities: "ID" entries, each with a comment saying why it does not apply or
# why no fixed version can be used yet. Keep docs/operations.md ("Accepted findings") in step.
IGNORED=(
)

if [[ ! -x "$PIP_AUDIT" ]]; then
  echo "audit: $PIP_AUDIT is missing (run scripts/install.sh)" >&2
  exit 1
fi

ignore_args=()
for id in "${IGNORED[@]+"${IGNORED[@]}"}"; do
  ignore_args+=(--ignore-vuln "$id")
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# audit NAME ARGS...: run pip-audit with each service until one could look packages up;
# prints the verdict and returns 0 clean, 1 vulnerable, 2 not audited.
audit() {
  local name="$1"
  shift
  local service verdict=2
  for service in $SERVICES; do
    local out="$work/$name-$service.json" log="$work/$name-$service.log"
    "$PIP_AUDIT" "$@" --vulnerability-service "$service" --timeout "$TIMEOUT" --progress-spinner off \
      --format json --output "$out" "${ignore_args[@]+"${ignore_args[@]}"}" >"$log" 2>&1 || true
    verdict=0
    "$PYTHON" - "$out" "$log" "$name" "$service" <<'EOF' || verdict=$?
import json
import sys
from pathlib import Path

out, log, name, service = sys.argv[1:]
try:
    report = json.loads(Path(out).read_text())
except (OSError, ValueError):
    lines = [line for line in Path(log).read_text(errors="replace").splitlines() if line.strip()]
    print(f"audit: {name}: the {service} service could not be used: {lines[-1] if lines else 'no output'}")
    sys.exit(2)
deps = report.get("dependencies", [])
skipped = [d for d in deps if d.get("skip_reason")]
audited = [d for d in deps if not d.get("skip_reason")]
if deps and not audited:
    print(
        f"audit: {name}: the {service} service could look up none of {len(deps)} packages "
        f"(e.g. {skipped[0]['skip_reason']})"
    )
    sys.exit(2)
vulnerable = [d for d in audited if d.get("vulns")]
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
        aliases = ", ".join(vuln.get("aliases") or [])
        print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} ({aliases}) fixed in: {fixes}")
for dep in skipped:
    print(f"audit: {name}: not audited: {dep['name']}: {dep['skip_reason']}")
print(f"audit: {name}: {len(audited)} package(s) audited with {service}, {len(vulnerable)} vulnerable")
sys.exit(1 if vulnerable else 0)
EOF
    if [[ $verdict -ne 2 ]]; then
      return "$verdict"
    fi
  done
  return 2
}

status=0
unreachable=0
run() {
  local verdict=0
  audit "$@" || verdict=$?
  case $verdict in
    0) ;;
    1) status=1 ;;
    *) unreachable=1 ;;
  esac
}

echo "==> dependency audit (pip-audit)"
run pinned -r requirements.txt -r requirements-dev.txt --disable-pip --no-deps
run pinned-sam2 -r requirements-sam2.txt --disable-pip --require-hashes  # hashed: audited on its own
run installed --local

if [[ $status -ne 0 ]]; then
  echo "audit: FAILED: upgrade the pins above to a fixed version, or accept a finding in scripts/audit.sh" \
    "(IGNORED) with its reason in docs/operations.md" >&2
  exit 1
fi
if [[ $unreachable -ne 0 ]]; then
  echo "audit: WARNING: THE DEPENDENCY AUDIT WAS NOT DONE: no vulnerability service answered" \
    "(services: $SERVICES). Run it where PyPI / api.osv.dev are reachable." >&2
  if [[ "${AUDIT_REQUIRED:-0}" == "1" ]]; then
    exit 3
  fi
fi
exit 0
