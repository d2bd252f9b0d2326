#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 for the test suite, starting
# (and if need be installing) them from Debian's packages. SeaweedFS is started by
# the test session itself, on free ports.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
# Another install on this machine (a second test run, a benchmark's) may hold dpkg's lock:
# wait for it rather than fail.
apt_get() { as_root apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_install() {
  [ "$apt_updated" = 1 ] || { apt_get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq "$@" >/dev/null
}
wait_for() { # name, command
  for _ in $(seq 1 60); do if eval "$2" >/dev/null 2>&1; then return 0; fi; sleep 0.5; done
  echo "$1 did not come up" >&2; return 1
}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then echo "no PostgreSQL cluster found" >&2; exit 1; fi
  echo "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL "pg_isready -q -h 127.0.0.1 -p 5432"
fi

# The replica tests copy the test database server with pg_basebackup, which needs a
# replication entry in pg_hba.conf (Debian's default has none for TCP).
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
hba="/etc/postgresql/$version/main/pg_hba.conf"
if [ -n "$version" ] && [ -w "$hba" ] && ! grep -qE "^host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust" "$hba"; then
  echo "allowing local replication connections in $hba"
  echo "host replication all 127.0.0.1/32 trust" >> "$hba"
  psql -h 127.0.0.1 -U postgres -Atqc "SELECT pg_reload_conf()" >/dev/null
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"
fi

# RabbitMQ: the broker tests run on a virtual host of their own (tests/conftest.py) on
# this machine's node, and bench/drills.py --broker rabbitmq on another.
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  echo "starting RabbitMQ"
  rabbitmq-server -detached
  wait_for RabbitMQ "(exec 3<>/dev/tcp/127.0.0.1/5672)"
  wait_for "RabbitMQ's CLI" "rabbitmqctl --quiet await_startup"
fi

# Page tests drive Debian's Chromium through Playwright (Playwright's own browser
# download cannot work here, and is not needed).
if ! command -v chromium >/dev/null; then
  echo "installing Chromium for the page tests"
  apt_install chromium
fi
# nginx fronts `make stack` (and the stack test); Debian's light build has proxy_cache and limit_req.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx for the local stack"
  apt_install nginx-light
fi
# gettext's msgfmt and xgettext: the language tests (tests/photosite/test_i18n.py) check the
# catalogues with them; the site itself reads the committed .mo files and needs neither.
if ! command -v msgfmt >/dev/null || ! command -v xgettext >/dev/null; then
  echo "installing gettext for the language tests"
  apt_install gettext
fi
# wrk drives the load benchmark (bench/load.py) against the stack.
if ! command -v wrk >/dev/null; then
  apt_install wrk
fi
# The colour-profile tests convert an Adobe RGB photo with a profile from Debian's free set.
if [ ! -f /usr/share/color/icc/compatibleWithAdobeRGB1998.icc ]; then
  echo "installing ICC colour profiles for the rendition tests"
  apt_install icc-profiles-free
fi
# kubectl renders compose/kubernetes (kubectl kustomize) in tests/deploy/test_kubernetes.py;
# Debian's own package is older but has kustomize too.
if ! command -v kubectl >/dev/null; then
  apt_install kubectl 2>/dev/null || apt_install kubernetes-client
fi
# promtool (Debian's prometheus package) runs the alert rules' unit tests (tests/deploy/test_observability.py).
if ! command -v promtool >/dev/null; then
  apt_install prometheus
fi
# The /ops/ Hosts panel's test (tests/ops/test_hosts.py) runs a Prometheus scraping a node exporter.
command -v prometheus >/dev/null || apt_install prometheus
command -v prometheus-node-exporter >/dev/null || apt_install prometheus-node-exporter
# `make stack` runs compose's services natively (compose/local/native.py): the Redis exporter,
# a certificate for nginx's HTTPS, and the curl and wget its health checks call.
# PgBouncer in front of PostgreSQL: compose's pgbouncer service in the stack, and tests/deploy/test_pgbouncer.py.
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
command -v prometheus-redis-exporter >/dev/null || apt_install prometheus-redis-exporter
command -v openssl >/dev/null || apt_install openssl
command -v curl >/dev/null || apt_install curl
command -v wget >/dev/null || apt_install wget
echo "PostgreSQL, Redis, RabbitMQ, Chromium, nginx, wrk and ICC profiles are ready"
