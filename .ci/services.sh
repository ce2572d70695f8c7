#!/usr/bin/env bash
# Makes sure PostgreSQL (with btree_gist available) is up; starts it if it is not.
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
