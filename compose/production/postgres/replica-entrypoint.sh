#!/usr/bin/env bash
# A streaming replica: on first start, copy the primary with pg_basebackup (-R writes
# primary_conninfo and standby.signal), then run postgres as a hot standby.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h primary -U postgres; do sleep 1; done
    pg_basebackup -h primary -U replicator -D "$PGDATA" -R -X stream -c fast
    chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
