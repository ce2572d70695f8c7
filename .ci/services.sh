#!/usr/bin/env bash
# Makes sure everything the tests need besides Rust is installed and running, starting or
# installing what is missing: PostgreSQL (with btree_gist), Redis, RabbitMQ (with rabbitmqctl)
# and curl. Fails loudly when something cannot be made to work.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ! command -v pg_isready >/dev/null; then
  echo "PostgreSQL client tools are missing; installing PostgreSQL" >&2
  apt-get update -qq && apt-get install -y -qq postgresql postgresql-contrib >/dev/null
fi
if ! pg_up; then
  echo "PostgreSQL is not running; starting it" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }

url="${CAREBOOK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
available=$(psql "$url" -Atc "SELECT count(*) FROM pg_available_extensions WHERE name = 'btree_gist'")
if [ "$available" != "1" ]; then
  echo "PostgreSQL lacks the btree_gist extension (package postgresql-contrib)" >&2
  exit 1
fi
# Databases left behind by interrupted test runs.
psql "$url" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'carebook_test_%'" |
  while read -r db; do psql "$url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done
echo "PostgreSQL ready"

# Redis, for the gateway's shared rate limits.
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null; then
  echo "Redis is missing; installing it" >&2
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
if ! redis_up; then
  echo "Redis is not running; starting it" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
fi
redis_up || { echo "Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
echo "Redis ready"

# RabbitMQ, for the event tests: each test run adds (and deletes) its own vhost on this broker.
rabbit_up() { rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1; }
if ! command -v rabbitmq-server >/dev/null; then
  echo "RabbitMQ is missing; installing it" >&2
  apt-get update -qq && apt-get install -y -qq rabbitmq-server >/dev/null
fi
if ! rabbit_up; then
  echo "RabbitMQ is not running; starting it" >&2
  rabbitmq-server -detached || echo "rabbitmq-server -detached failed; waiting anyway" >&2
  # await_startup fails at once while the node itself is not up yet, so ask again.
  for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
fi
rabbit_up && (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null ||
  { echo "RabbitMQ did not come up on 127.0.0.1:5672 (logs: /var/log/rabbitmq)" >&2; exit 1; }
# Test vhosts (carebook-test-<unix seconds>-<random>) left behind by interrupted runs; an hour
# old at least, so a run in progress keeps its own.
now=$(date +%s)
rabbitmqctl -q list_vhosts | { grep -E '^carebook-test-[0-9]+-' || true; } |
  while read -r vhost; do
    created=${vhost#carebook-test-}
    created=${created%%-*}
    if [ $((now - created)) -gt 3600 ]; then rabbitmqctl -q delete_vhost "$vhost" >/dev/null; fi
  done
echo "RabbitMQ ready"

# The README walk-through test runs its script with bash and curl.
if ! command -v curl >/dev/null; then
  echo "curl is missing; installing it" >&2
  apt-get update -qq && apt-get install -y -qq curl >/dev/null
fi
command -v curl >/dev/null || { echo "curl could not be installed" >&2; exit 1; }
echo "curl ready"

# Python's venv module, for the contract check's schemathesis (.ci/contract-check.sh); the tests
# themselves need no Python.
if ! python3 -c 'import ensurepip' 2>/dev/null; then
  echo "Python's venv module is missing; installing it" >&2
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
python3 -c 'import ensurepip' || { echo "python3-venv could not be installed" >&2; exit 1; }
echo "Python venv ready"
