#!/usr/bin/env bash
# One-shot before Filebeat ships anything: the lifecycle policy and index template of the
# photosite-logs data stream, then a Kibana data view on it, so Discover shows the logs on
# first start. Each call replaces what it names, so running it again changes nothing.
set -euo pipefail
es="${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
kibana="${KIBANA_URL:-http://kibana:5601}"
here="$(dirname "$0")"
send() { # method, url, file, extra curl arguments...
    local method=$1 url=$2 file=$3
    shift 3
    curl -fsS -X "$method" "$url" -H 'Content-Type: application/json' --data-binary "@$file" "$@"
    echo
}
send PUT "$es/_ilm/policy/photosite-logs" "$here/ilm-policy.json"
send PUT "$es/_index_template/photosite-logs" "$here/index-template.json"
send POST "$kibana/api/data_views/data_view" "$here/data-view.json" -H 'kbn-xsrf: true'
