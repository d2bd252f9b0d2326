#!/usr/bin/env bash
# Runs once on the primary's first start (docker-entrypoint-initdb.d): the replication role,
# its access, the replica's slot, and the site role's statement timeout. The image creates
# only POSTGRES_USER (photosite here), so connect as that user: there is no `postgres` role.
#
# The timeout: photosite sends DATABASE_STATEMENT_TIMEOUT_MS as a connection option, which
# PgBouncer drops (ignore_startup_parameters), and a SET would stay on a server connection
# other clients share; a role default applies to every new server connection, on the
# replica too (the setting is replicated). A direct connection's option still wins. Later
# changes: ALTER ROLE photosite SET statement_timeout = ... on the primary.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$REPLICATION_PASSWORD" --set=slot="${REPLICATION_SLOT:-replica1}" \
    --set=site_role="$POSTGRES_USER" --set=statement_timeout="${STATEMENT_TIMEOUT_MS:-10000}" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot(:'slot');
ALTER ROLE :"site_role" SET statement_timeout = :'statement_timeout';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
