#!/usr/bin/env bash
# A streaming replica: on first start, copy the primary with pg_basebackup (-R writes
# primary_conninfo and standby.signal; -S names the slot primary-init.sh created, so the
# primary keeps the WAL this replica still needs), then run postgres as a hot standby.
# Arguments (compose's `command`) go to postgres: max_connections must match the primary's.
set -euo pipefail
PRIMARY_HOST="${PRIMARY_HOST:-primary}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h "$PRIMARY_HOST" -U replicator; do sleep 1; done
    pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -X stream -S "${REPLICATION_SLOT:-replica1}" -c fast
    chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on "$@"
