#!/usr/bin/env bash
# A throw-away PostgreSQL server for a shared Optuna study, from Debian's packages.
#
#   experiments/scale/postgres.sh [--port N] [--listen ADDR] [--allow CIDR] [--dir DIR]
#   experiments/scale/postgres.sh stop DIR
#
# Starts a server in a fresh folder (initdb, pg_ctl), listening on 127.0.0.1 unless --listen
# says otherwise (--allow CIDR then admits other machines, e.g. 192.168.1.0/24), creates the
# database "archsearch" owned by a user of the same name with a random password, and prints
# the SQLAlchemy URL that `archsearch run|tune --storage` takes on stdout, and the command
# that stops it and deletes everything on stderr. Needs the server (apt-get install -y
# postgresql) and the driver (pip install 'archsearch[postgres]').
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 2; }

find_bin() {  # Debian keeps the server tools off PATH, under /usr/lib/postgresql/<version>/bin
  local name=$1 found
  found=$(command -v "$name" 2>/dev/null || true)
  if [[ -z $found ]]; then
    found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [[ -n $found ]] || die "$name not found: install the server with 'apt-get install -y postgresql'"
  echo "$found"
}

as_owner() {  # initdb and postgres refuse to run as root: run them as the folder's owner
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$OWNER" -- "$@"
  else
    "$@"
  fi
}

if [[ ${1:-} == stop ]]; then
  dir=${2:?usage: postgres.sh stop DIR}
  [[ -f $dir/data/PG_VERSION ]] || die "$dir holds no server started by postgres.sh"
  OWNER=$(stat -c %U "$dir/data")
  as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null
  rm -rf "$dir"
  exit 0
fi

port="" listen=127.0.0.1 allow="" dir=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) port=$2; shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    --allow) allow=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) die "unknown option $1 (known: --port --listen --allow --dir, or: stop DIR)" ;;
  esac
done

initdb=$(find_bin initdb)
pg_ctl=$(find_bin pg_ctl)
psql=$(find_bin psql)
OWNER=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user of the package"
  OWNER=postgres
fi
if [[ -z $port ]]; then  # a free port, chosen by the kernel
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
dir=${dir:-$(mktemp -d "${TMPDIR:-/tmp}/archsearch-pg.XXXXXX")}
mkdir -p "$dir"
password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
echo "$password" >"$dir/password"
chmod 700 "$dir"
chown -R "$OWNER" "$dir"
as_owner test -w "$dir" || die "user $OWNER cannot write $dir (a parent folder is closed to it)"

as_owner "$initdb" -D "$dir/data" -U archsearch --pwfile="$dir/password" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
  || die "initdb failed; see $dir/initdb.log"
if [[ -n $allow ]]; then
  echo "host all all $allow scram-sha-256" >>"$dir/data/pg_hba.conf"
fi
# The socket goes into the folder too: nothing outside it is touched.
as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=$listen -p $port -k $dir -c max_connections=200" start >/dev/null \
  || die "the server did not start; see $dir/server.log"
as_owner "$psql" -h "$dir" -p "$port" -U archsearch -d postgres -qc "CREATE DATABASE archsearch" \
  || die "could not create the database; see $dir/server.log"

host=$listen
[[ $host == 0.0.0.0 ]] && host=$(hostname -I | awk '{print $1}')
echo "stop and delete it with: $0 stop $dir" >&2
echo "postgresql+psycopg2://archsearch:$password@$host:$port/archsearch"
