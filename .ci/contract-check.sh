#!/usr/bin/env bash
# Runs schemathesis with every check against a freshly started embedded carebook: no server
# errors, every response matches the OpenAPI document the system serves, and the server accepts
# and refuses exactly what the document says, except for the rules JSON Schema cannot state,
# each listed with its reason in .ci/schemathesis-allowlist.toml.
set -euo pipefail
binary="$1"
ci_dir=$(cd "$(dirname "$0")" && pwd)
venv=${SCHEMATHESIS_VENV:-/var/cache/carebook-ci/venv}
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi

data_dir=$(mktemp -d)
log_file="$data_dir/carebook.log"
export CAREBOOK_ADMIN_EMAIL=contract-check@carebook.test
export CAREBOOK_ADMIN_PASSWORD="contract-check-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
# The fuzzer is one client sending thousands of requests; rate limits would only hide bugs.
export CAREBOOK_RATE_LIMIT_PER_MINUTE=1000000 CAREBOOK_LOGIN_RATE_LIMIT_PER_MINUTE=1000000
CAREBOOK_DATA_DIR="$data_dir" "$binary" up >"$log_file" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data_dir"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:8080/health/ready >/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$log_file"; echo "carebook exited" >&2; exit 1; }
  sleep 0.2
done
curl -fs http://127.0.0.1:8080/health/ready >/dev/null || { cat "$log_file"; exit 1; }

token=$(curl -fs -XPOST http://127.0.0.1:8080/api/auth/login -H 'content-type: application/json' \
  -d "{\"email\":\"$CAREBOOK_ADMIN_EMAIL\",\"password\":\"$CAREBOOK_ADMIN_PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')

# As the admin, every operation is reachable; authorization itself is covered by the
# end-to-end matrix test. schemathesis's own exit status counts allowed failures too; the
# verdict below decides.
report_dir="$data_dir/schemathesis"
"$venv/bin/python" "$ci_dir/schemathesis-run.py" --config-file "$ci_dir/schemathesis.toml" run http://127.0.0.1:8080/api/openapi.json \
  -H "Authorization: Bearer $token" \
  --checks all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --seed "${SCHEMATHESIS_SEED:-20261121}" \
  --workers 2 \
  --suppress-health-check all \
  --report ndjson \
  --report-dir "$report_dir" || true
report=$(ls "$report_dir"/ndjson-*.ndjson)
"$venv/bin/python" "$ci_dir/schemathesis-verdict.py" "$report" "$ci_dir/schemathesis-allowlist.toml"

# Graceful shutdown: SIGTERM stops every server and the process exits cleanly.
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || { cat "$log_file"; echo "carebook exited with $status on SIGTERM" >&2; exit 1; }
echo "carebook stopped cleanly on SIGTERM"
