#!/usr/bin/env bash
# Make a PostgreSQL server available on 127.0.0.1:5432 for the tests, then print its URL.
#
# CI runs this as root on Debian before `make test`:
#
#     export "$(scripts/postgres.sh)"    # sets TAILOR_TEST_POSTGRES_URL
#
# When nothing answers on 127.0.0.1:5432 it installs PostgreSQL with apt-get (only if it is
# not installed yet) and starts the cluster. Either way it makes sure role `tailor`
# (password `tailor`) and database `tailor_test` owned by it exist. Safe to run again: each
# step checks before it acts. Progress goes to stderr; stdout holds only the
# TAILOR_TEST_POSTGRES_URL=... line, so the output can be exported as is.
set -Eeuo pipefail

HOST=127.0.0.1
PORT=5432
ROLE=tailor
PASSWORD=tailor
DATABASE=tailor_test
WAIT_S=${TAILOR_POSTGRES_WAIT_S:-30}
URL="postgresql://${ROLE}:${PASSWORD}@${HOST}:${PORT}/${DATABASE}"

log() { echo "postgres.sh: $*" >&2; }
die() {
  echo "postgres.sh: error: $1" >&2
  echo "postgres.sh: fix: $2" >&2
  exit 1
}
trap 'die "command failed on line $LINENO: $BASH_COMMAND" "read the output above; rerun with bash -x scripts/postgres.sh for a trace."' ERR

ready() { command -v pg_isready >/dev/null && pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (running as uid $(id -u))." \
    "run it with sudo, or start PostgreSQL yourself and export TAILOR_TEST_POSTGRES_URL."
}

install_server() {
  if command -v pg_ctlcluster >/dev/null || command -v pg_ctl >/dev/null; then
    return
  fi
  need_root "installing PostgreSQL"
  command -v apt-get >/dev/null || die "apt-get not found; this script installs PostgreSQL on Debian/Ubuntu only." \
    "install PostgreSQL with your package manager, then rerun."
  log "installing postgresql with apt-get (quiet; a minute or two)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed." "check the network and the apt sources, then rerun."
  apt-get install -y -qq postgresql >/dev/null 2>&1 \
    || die "apt-get install postgresql failed." "run 'apt-get install -y postgresql' to see why, then rerun."
}

latest_version() { ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1; }

start_server() {
  need_root "starting PostgreSQL"
  if command -v pg_lsclusters >/dev/null; then
    local version
    version=$(pg_lsclusters --no-header 2>/dev/null | awk '$2 == "main" {print $1; exit}')
    if [ -z "$version" ]; then
      version=$(latest_version)
      [ -n "$version" ] || die "no PostgreSQL version under /usr/lib/postgresql." "reinstall: apt-get install -y postgresql."
      log "creating cluster $version/main"
      pg_createcluster "$version" main >/dev/null
    fi
    log "starting cluster $version/main"
    # pg_ctlcluster prints notes such as "Removed stale pid file." on stdout: keep them off ours.
    pg_ctlcluster "$version" main start >&2 2>/dev/null || service postgresql start >&2
  else
    log "starting the postgresql service"
    service postgresql start >&2
  fi
}

wait_ready() {
  local waited=0
  until ready; do
    if [ "$waited" -ge "$WAIT_S" ]; then
      die "PostgreSQL did not answer on ${HOST}:${PORT} within ${WAIT_S} s." \
        "read /var/log/postgresql/*.log; another program may hold port ${PORT}."
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

as_postgres() { runuser -u postgres -- "$@"; }

create_role_and_database() {
  if [ "$(id -u)" -ne 0 ] || ! as_postgres psql -qAtc "SELECT 1" >/dev/null 2>&1; then
    log "no local superuser access; assuming role '$ROLE' and database '$DATABASE' already exist"
    return
  fi
  as_postgres psql -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}';
  ELSE
    ALTER ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}';
  END IF;
END
\$\$;
SQL
  if [ -z "$(as_postgres psql -qAtc "SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'")" ]; then
    log "creating database $DATABASE"
    as_postgres createdb -O "$ROLE" "$DATABASE"
  fi
}

check_login() {
  command -v psql >/dev/null || return 0
  PGCONNECT_TIMEOUT=5 psql "$URL" -qAtc "SELECT 1" >/dev/null 2>&1 \
    || die "cannot log in as ${ROLE} to ${DATABASE} on ${HOST}:${PORT}." \
      "check pg_hba.conf allows password logins from 127.0.0.1, or that the server on ${PORT} is the one you expect."
}

main() {
  # Only the final URL line may reach stdout: every step's own output goes to stderr. (No
  # extra descriptor is opened for it: a server started here would inherit it and hold a
  # caller's $(...) open forever.)
  {
    if ready; then
      log "PostgreSQL already answers on ${HOST}:${PORT}"
    else
      install_server
      start_server
      wait_ready
    fi
    create_role_and_database
    check_login
  } >&2
  echo "TAILOR_TEST_POSTGRES_URL=${URL}"
}

main "$@"
