#!/bin/bash
# lava-server.sh: the rig's LAVA jobs through a whole local LAVA instance,
# once, by hand (make lava-server, after make lava-jobs): PostgreSQL and
# lava-server from Debian's packages, LAVA's services (gunicorn, the
# scheduler, a worker) started here as processes of this script (this machine
# has no systemd running), an admin user, the qemu device type, a worker and
# the device rig-qemu01 with the rig's dictionary; the jobs are submitted,
# waited for and read back with lavacli, and counted as 'make lava' counts
# them. Everything it started is stopped at the end (PostgreSQL only if it
# was not running); the installed packages and the LAVA database stay.
. "$(dirname "$0")/lib.sh"

srv=$BUILD/lava-server
jobs_dir=$BUILD/lava/jobs
[ -f "$jobs_dir/order.json" ] || die "no jobs in $jobs_dir: run 'make lava-jobs' first"
[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$srv"
rm -f "$srv"/*.log
PIDS=()
started_pg=""
qemu_link=/usr/local/bin/qemu-system-riscv64
made_link=""
made_identity=""

stop_all() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	[ -z "$made_link" ] || rm -f "$qemu_link"
	[ -z "$made_identity" ] || lavacli identities delete rig >/dev/null 2>&1 || true
	[ -z "$started_pg" ] || pg_ctlcluster "$started_pg" stop || true
}
trap stop_all EXIT

t0=$(date +%s)
step() { printf '[lava-srv ] %4ss %s\n' "$(($(date +%s) - t0))" "$*"; }

# 1. PostgreSQL first: lava-server's postinst creates its database.
if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q 'install ok installed'; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >"$srv/apt.log" 2>&1 ||
		die "apt-get install postgresql failed (log: $srv/apt.log)"
fi
cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 "/" $2 }')
[ -n "$cluster" ] || die "no PostgreSQL cluster (pg_lsclusters)"
if ! pg_lsclusters -h | awk 'NR == 1 { exit $4 != "online" }'; then
	pg_ctlcluster "${cluster%/*}" "${cluster#*/}" start || die "PostgreSQL $cluster did not start"
	started_pg="${cluster%/*} ${cluster#*/}"
fi
step "PostgreSQL $cluster online"

# 2. lava-server (its postinst creates the database and migrates it).
if ! dpkg-query -W -f='${Status}' lava-server 2>/dev/null | grep -q 'install ok installed'; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"lava-server=$LAVA_VERSION" "lava-server-doc=$LAVA_VERSION" >>"$srv/apt.log" 2>&1 ||
		die "apt-get install lava-server failed (log: $srv/apt.log)"
fi
lava-server manage migrate --noinput >"$srv/migrate.log" 2>&1 || die "lava-server manage migrate failed (log: $srv/migrate.log)"
step "lava-server $(dpkg-query -W -f='${Version}' lava-server) installed, database migrated"

# 3. The services, as the units in /lib/systemd/system start them (on
# 127.0.0.1:8000, which must be free: no other LAVA may answer for ours).
if curl -s -o /dev/null http://127.0.0.1:8000/ 2>/dev/null; then
	die "something already listens on 127.0.0.1:8000 (another lava-server?): stop it first"
fi
gunicorn3 lava_server.wsgi --log-level info --log-file "$srv/gunicorn.log" -u lavaserver -g lavaserver \
	--worker-class eventlet --workers 2 --bind 127.0.0.1:8000 >/dev/null 2>&1 &
PIDS+=($!)
lava-server manage lava-scheduler --level DEBUG --log-file "$srv/scheduler.log" >/dev/null 2>&1 &
PIDS+=($!)
for i in $(seq 60); do
	curl -fsS -o /dev/null http://127.0.0.1:8000/api/v0.2/system/version/ 2>/dev/null && break
	sleep 1
done
curl -fsS http://127.0.0.1:8000/api/v0.2/system/version/ >/dev/null && kill -0 "${PIDS[0]}" ||
	die "lava-server did not answer on 127.0.0.1:8000 (log: $srv/gunicorn.log)"
step "gunicorn on 127.0.0.1:8000 and the scheduler running"

# 4. Admin user and token, device type, worker, device.
if ! lava-server manage users list 2>/dev/null | grep -qw rig-admin; then
	lava-server manage users add rig-admin --superuser --staff >/dev/null ||
		die "could not create the LAVA user rig-admin"
fi
token=$(lava-server manage tokens add --user rig-admin --description "rig $(date +%s)")
lava-server manage device-types add qemu 2>/dev/null || true
lava-server manage workers add rig-worker >/dev/null 2>&1 || true
wtoken=$(lava-server manage workers details rig-worker | sed -n 's/^token *: //p')
[ -n "$wtoken" ] || die "no token for worker rig-worker"
install -D -m 644 "$TOP/lava/rig-qemu01.jinja2" /etc/lava-server/dispatcher-config/devices/rig-qemu01.jinja2
lava-server manage devices add --device-type qemu --worker rig-worker rig-qemu01 2>/dev/null ||
	lava-server manage devices update --worker rig-worker --health GOOD rig-qemu01
step "user rig-admin, device type qemu, worker rig-worker, device rig-qemu01"

# 5. The rig's QEMU for the worker: LAVA's environment (env.yaml) puts
# /usr/local/bin first in PATH.
if [ ! -e "$qemu_link" ]; then
	ln -s "$(readlink -f "${RIG_QEMU:-$BUILD/qemu/qemu-system-riscv64}")" "$qemu_link"
	made_link=1
fi
lava-worker --level DEBUG --log-file "$srv/worker.log" --url http://127.0.0.1:8000/ --name rig-worker \
	--token "$wtoken" >/dev/null 2>&1 &
PIDS+=($!)
step "worker started (log: ${srv#"$TOP"/}/worker.log)"

# 6. lavacli: submit, wait, read back.
lavacli identities add --uri http://127.0.0.1:8000/RPC2 --username rig-admin --token "$token" rig
made_identity=1
# The server renders the dictionary with LAVA's qemu template (without a
# job's context, so with no arch yet; riscv64 is among its architectures).
rendered=$(lavacli -i rig devices dict get --render rig-qemu01 2>&1) || true
echo "$rendered" >"$srv/rig-qemu01.yaml"
echo "$rendered" | grep -q '^- riscv64$' ||
	die "the server does not render rig-qemu01 with LAVA's qemu template: $(echo "$rendered" | tail -n 3)"
step "lavacli identity 'rig'; the server renders rig-qemu01 from qemu.jinja2"
/usr/bin/python3 "$TOP/scripts/lava.py" server-run --identity rig
