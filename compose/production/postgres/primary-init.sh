#!/usr/bin/env bash
# Runs once on the primary's first start (docker-entrypoint-initdb.d): the replication role,
# its access, and the replica's slot. The image creates only POSTGRES_USER (photosite here),
# so connect as that user: there is no `postgres` role.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$REPLICATION_PASSWORD" --set=slot="${REPLICATION_SLOT:-replica1}" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot(:'slot');
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
