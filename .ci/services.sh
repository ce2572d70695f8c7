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
