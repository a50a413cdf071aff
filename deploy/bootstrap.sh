#!/usr/bin/env bash
# Boot one app instance from an unpacked release. EC2 user data runs it (then cfn-signals
# its exit code), and `make stack` runs it for each local instance: one script, two places.
#
#   bash <release>/deploy/bootstrap.sh <release dir> <env file>
#
#   1. a venv from the release's wheels/ (offline), unless BOOTSTRAP_VENV names one
#   2. INSTANCE_ID (IMDSv2 on EC2, the environment locally) and RELEASE_VERSION written
#      to the env file
#   3. the release step: migrations exactly once per release (`manage.py release`, under a
#      PostgreSQL advisory lock; later instances find the release recorded and skip)
#   4. gunicorn and the worker (queued email, scheduled jobs: `manage.py run_worker`): the
#      systemd units webshop.service and webshop-worker.service (EC2), or two detached
#      process groups
#   4b. nginx in front of gunicorn, buffering whole requests (deploy/nginx.conf): the
#      systemd unit webshop-nginx.service (EC2), or a detached process (pid in <state>/nginx/)
#   5. exit 0 once http://127.0.0.1:<nginx port>/readyz answers 200 and the worker still
#      runs; after a timeout, stop all three (the units too: an instance that is not ready
#      must not pass /healthz) and exit non-zero
#
# Optional variables:
#   BOOTSTRAP_SUPERVISOR     systemd (default) | none (a detached process group, local stack)
#   BOOTSTRAP_VENV           an existing venv to use instead of building one (supervisor none)
#   BOOTSTRAP_STATE_DIR      supervisor none: where gunicorn.pid, worker.pid and their logs
#                            go ($PWD)
#   BOOTSTRAP_PYTHON         the interpreter a new venv is made from (python3.11)
#   BOOTSTRAP_READY_TIMEOUT  seconds to wait for /readyz (300)
#   BOOTSTRAP_IMDS_URL       the instance metadata service (http://169.254.169.254)
#   BOOTSTRAP_NGINX          the nginx binary (/usr/sbin/nginx)
#   INSTANCE_ID              this instance's name; unset: the EC2 instance id from IMDSv2
#   RELEASE_VERSION          unset: <release dir>/RELEASE, else the release dir's name
set -euo pipefail

log() { printf '%s bootstrap[%s]: %s\n' "$(date -u +%FT%TZ)" "${INSTANCE_ID:-?}" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
# A process that exited but was not reaped (a zombie) is not running.
running() { local stat; stat=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $stat != Z* ]]; }

[[ $# -eq 2 ]] || fail "usage: bootstrap.sh <release dir> <env file>"
RELEASE_DIR=$(cd "$1" && pwd)
ENV_FILE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
[[ -f $ENV_FILE ]] || fail "no env file at $ENV_FILE"
[[ -f $RELEASE_DIR/manage.py ]] || fail "$RELEASE_DIR holds no release (no manage.py)"

SUPERVISOR=${BOOTSTRAP_SUPERVISOR:-systemd}
READY_TIMEOUT=${BOOTSTRAP_READY_TIMEOUT:-300}
IMDS=${BOOTSTRAP_IMDS_URL:-http://169.254.169.254}
SAFE='^[A-Za-z0-9][A-Za-z0-9._+-]*$'  # what may be written unquoted to the env file
case $SUPERVISOR in systemd | none) ;; *) fail "BOOTSTRAP_SUPERVISOR must be systemd or none" ;; esac

# Run a command with the env file's variables and nothing else from this shell: what
# gunicorn gets under systemd (EnvironmentFile=), so the local stack proves the file suffices.
with_env=(env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME=/nonexistent
  bash -c 'set -a && . "$0" && set +a && exec "$@"' "$ENV_FILE")

# --- 1. venv ----------------------------------------------------------------------------
if [[ -n ${BOOTSTRAP_VENV:-} ]]; then
  [[ $SUPERVISOR == none ]] || fail "BOOTSTRAP_VENV is for the local stack (supervisor none)"
  VENV=$BOOTSTRAP_VENV
else
  VENV=$RELEASE_DIR/.venv
  if [[ ! -f $VENV/.complete ]]; then  # venvs cannot be moved: build in place, mark when done
    log "creating $VENV from $RELEASE_DIR/wheels (offline)"
    rm -rf "$VENV"
    "${BOOTSTRAP_PYTHON:-python3.11}" -m venv "$VENV"
    # Only the release's wheels: no index, no pip configuration from this machine.
    env -i PATH=/usr/bin:/bin HOME=/nonexistent PIP_CONFIG_FILE=/dev/null \
      "$VENV/bin/python" -m pip install --quiet --no-index --disable-pip-version-check \
      --find-links "$RELEASE_DIR/wheels" -r "$RELEASE_DIR/requirements.txt"
    touch "$VENV/.complete"
  fi
fi
[[ -x $VENV/bin/gunicorn ]] || fail "no gunicorn in $VENV"
PYTHON=$VENV/bin/python

# --- 2. who and what this instance is ----------------------------------------------------
if [[ -z ${INSTANCE_ID:-} ]]; then
  INSTANCE_ID=$("$PYTHON" - "$IMDS" <<'PY'
import sys
import time
import urllib.request

base = sys.argv[1]
for attempt in range(5):
    try:
        token = urllib.request.urlopen(urllib.request.Request(
            f"{base}/latest/api/token", method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}), timeout=2).read().decode()
        print(urllib.request.urlopen(urllib.request.Request(
            f"{base}/latest/meta-data/instance-id",
            headers={"X-aws-ec2-metadata-token": token}), timeout=2).read().decode())
        break
    except OSError as error:
        print(f"IMDSv2: {error}", file=sys.stderr)
        time.sleep(1 + attempt)
PY
  ) || true
  [[ -n $INSTANCE_ID ]] || fail "INSTANCE_ID unset and IMDSv2 at $IMDS did not answer"
fi
if [[ -z ${RELEASE_VERSION:-} ]]; then
  if [[ -f $RELEASE_DIR/RELEASE ]]; then
    RELEASE_VERSION=$(<"$RELEASE_DIR/RELEASE")
  else
    RELEASE_VERSION=$(basename "$RELEASE_DIR")
  fi
fi
[[ $INSTANCE_ID =~ $SAFE ]] || fail "INSTANCE_ID '$INSTANCE_ID' is not shell-safe"
[[ $RELEASE_VERSION =~ $SAFE ]] || fail "RELEASE_VERSION '$RELEASE_VERSION' is not shell-safe"

set_env() {  # KEY VALUE: replace the key's line in the env file, keeping its mode
  local tmp
  tmp=$(mktemp "$ENV_FILE.XXXXXX")
  chmod --reference="$ENV_FILE" "$tmp"
  { grep -v "^$1=" "$ENV_FILE" || true; printf '%s=%s\n' "$1" "$2"; } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}
set_env INSTANCE_ID "$INSTANCE_ID"
set_env RELEASE_VERSION "$RELEASE_VERSION"
log "release $RELEASE_VERSION from $RELEASE_DIR, supervisor $SUPERVISOR"

# --- 3. the release step -----------------------------------------------------------------
"${with_env[@]}" "$PYTHON" "$RELEASE_DIR/manage.py" release "$RELEASE_VERSION" \
  --instance "$INSTANCE_ID" || fail "the release step (migrations) failed"

# --- 4. gunicorn and the worker ----------------------------------------------------------
env_value() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }
bind=$(env_value GUNICORN_BIND)
bind=${bind:-127.0.0.1:8001}  # deploy/gunicorn.conf.py's default
listen=$(env_value NGINX_LISTEN)
listen=${listen:-0.0.0.0:8000}
port=${listen##*:}
gunicorn_pid=
worker_pid=
nginx_pid=
UNITS=(webshop.service webshop-worker.service)
if [[ $SUPERVISOR == systemd ]]; then
  id webshop &>/dev/null || useradd --system --user-group --home-dir /opt/webshop \
    --no-create-home --shell /sbin/nologin webshop
  ln -sfn "$RELEASE_DIR" /opt/webshop/current
  install -m 0644 "$RELEASE_DIR/deploy/webshop.logrotate" /etc/logrotate.d/webshop
  for unit in "${UNITS[@]}"; do
    install -m 0644 "$RELEASE_DIR/deploy/$unit" "/etc/systemd/system/$unit"
    install -d -m 0755 "/etc/systemd/system/$unit.d"
    printf '[Service]\nEnvironmentFile=\nEnvironmentFile=%s\n' "$ENV_FILE" \
      >"/etc/systemd/system/$unit.d/env-file.conf"
  done
  systemctl daemon-reload
  systemctl enable "${UNITS[@]}"
  systemctl restart "${UNITS[@]}"
else
  state=${BOOTSTRAP_STATE_DIR:-$PWD}
  mkdir -p "$state"
  for name in gunicorn worker nginx/nginx; do
    if [[ -f $state/$name.pid ]] && running "$(<"$state/$name.pid")"; then
      fail "$name already runs here (pid $(<"$state/$name.pid"))"
    fi
  done
  # setsid: each in its own process group, so the stack can stop it and its children by
  # one id.
  cd "$state"
  "${with_env[@]}" setsid "$VENV/bin/gunicorn" -c "$RELEASE_DIR/deploy/gunicorn.conf.py" \
    --pythonpath "$RELEASE_DIR" webapp.wsgi </dev/null >>"$state/gunicorn.log" 2>&1 &
  gunicorn_pid=$!
  echo "$gunicorn_pid" >"$state/gunicorn.pid"
  "${with_env[@]}" setsid "$PYTHON" "$RELEASE_DIR/manage.py" run_worker \
    </dev/null >>"$state/worker.log" 2>&1 &
  worker_pid=$!
  echo "$worker_pid" >"$state/worker.pid"
fi

# --- 4b. nginx in front of gunicorn --------------------------------------------------------
NGINX=${BOOTSTRAP_NGINX:-/usr/sbin/nginx}
[[ -x $NGINX ]] || fail "no nginx at $NGINX (dnf install nginx / apt-get install nginx)"
render_nginx() {  # STATE_DIR OUTPUT: deploy/nginx.conf with this instance's values
  sed -e "s|@LISTEN@|$listen|g" -e "s|@UPSTREAM@|${bind/0.0.0.0/127.0.0.1}|g" \
    -e "s|@STATE@|$1|g" "$RELEASE_DIR/deploy/nginx.conf" >"$2"
  "$NGINX" -t -q -e stderr -c "$2" || fail "nginx refuses $2"
}
if [[ $SUPERVISOR == systemd ]]; then
  render_nginx /var/lib/webshop-nginx /etc/webshop/nginx.conf
  chmod 0644 /etc/webshop/nginx.conf
  install -m 0644 "$RELEASE_DIR/deploy/webshop-nginx.service" \
    /etc/systemd/system/webshop-nginx.service
  systemctl daemon-reload
  systemctl enable webshop-nginx.service
  systemctl restart webshop-nginx.service
else
  nginx_state=$state/nginx
  mkdir -p "$nginx_state"
  render_nginx "$nginx_state" "$nginx_state/nginx.conf"
  # In the foreground of a session of its own (it writes its pid file itself); as root, its
  # workers run as root too, so they can write the request bodies they buffer here.
  globals="daemon off;"
  [[ $(id -u) == 0 ]] && globals+=" user root;"
  setsid "$NGINX" -e stderr -c "$nginx_state/nginx.conf" -g "$globals" \
    </dev/null >>"$state/nginx.log" 2>&1 &
  nginx_pid=$!
fi

# --- 5. ready ------------------------------------------------------------------------------
stop_started() {
  local pid
  if [[ $SUPERVISOR == systemd ]]; then
    systemctl stop "${UNITS[@]}" webshop-nginx.service || true
  fi
  for pid in $gunicorn_pid $worker_pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  if [[ -n $nginx_pid ]]; then kill -QUIT "$nginx_pid" 2>/dev/null || true; fi
}
deadline=$((SECONDS + READY_TIMEOUT))
until "$PYTHON" -c 'import sys, urllib.request
try:
    sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).status != 200)
except OSError:
    sys.exit(1)' "http://127.0.0.1:$port/readyz"; do
  if [[ -n $gunicorn_pid ]] && ! running "$gunicorn_pid"; then
    stop_started
    fail "gunicorn exited; see $state/gunicorn.log"
  fi
  if [[ -n $nginx_pid ]] && ! running "$nginx_pid"; then
    stop_started
    fail "nginx exited; see $state/nginx.log"
  fi
  if ((SECONDS >= deadline)); then
    stop_started
    fail "/readyz on port $port did not answer 200 within $READY_TIMEOUT s"
  fi
  sleep 0.2
done
if [[ -n $worker_pid ]] && ! running "$worker_pid"; then
  stop_started
  fail "the worker exited; see $state/worker.log"
elif [[ $SUPERVISOR == systemd ]] && ! systemctl is-active --quiet webshop-worker.service; then
  stop_started
  fail "webshop-worker.service is not running; see /var/log/webshop/app.log"
fi
log "ready on port $port${gunicorn_pid:+ (gunicorn pid $gunicorn_pid, worker pid $worker_pid, nginx pid $nginx_pid)}"
