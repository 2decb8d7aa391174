#!/usr/bin/env bash
# Brings the whole fngate stack up on this machine, in the foreground:
#   Redis (installed from Debian's packages if missing; an instance already
#   answering on FNGATE_REDIS_URL is used as is), the gateway with an embedded
#   NATS server and deployments/routes.yaml, and one worker serving the
#   built-in Go functions and the Node.js functions in deployments/functions.
# Ctrl-C stops everything this script started. Data lives in ./.data.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

export FNGATE_HTTP_ADDR=${FNGATE_HTTP_ADDR:-:8080}
export FNGATE_ADMIN_ADDR=${FNGATE_ADMIN_ADDR:-127.0.0.1:8081}
export FNGATE_REDIS_URL=${FNGATE_REDIS_URL:-redis://127.0.0.1:6379/0}
export FNGATE_NATS_LISTEN=${FNGATE_NATS_LISTEN:-127.0.0.1:4222}
export FNGATE_NATS_STORE_DIR=${FNGATE_NATS_STORE_DIR:-.data/nats}
# Callbacks to loopback, private and link-local addresses are refused unless
# allowed; on a laptop the callback receiver is on loopback.
export FNGATE_CALLBACK_ALLOW=${FNGATE_CALLBACK_ALLOW:-127.0.0.0/8,::1}
export FNGATE_ROUTES=${FNGATE_ROUTES:-deployments/routes.yaml}
export FNGATE_FUNCTIONS_DIR=${FNGATE_FUNCTIONS_DIR:-deployments/functions}
export FNGATE_ENV_ID=${FNGATE_ENV_ID:-dev}
# The demo built-ins (fail, panic, sleep, cpu, ...) are off by default in
# the worker; the example routes and the console's demos use them.
export FNGATE_BUILTINS=${FNGATE_BUILTINS:-all}

fngate_need redis-server redis-server
fngate_need redis-cli redis-tools
fngate_need_node || echo "fngate: Node.js 18+ unavailable; Node functions will not be served" >&2
fngate_need python3 python3 || echo "fngate: python3 unavailable; Python functions will not be served" >&2

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "fngate: stopping"
  # Workers first (they drain), then the gateway, then Redis.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap cleanup INT TERM EXIT

wait_port() { # host port what
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "fngate: $3 not listening on $1:$2 after 30s" >&2
  return 1
}

mkdir -p .data/redis bin
# Redis: reuse one that answers, else start ours.
redis_hostport=${FNGATE_REDIS_URL#redis://}
redis_hostport=${redis_hostport%%/*}
redis_hostport=${redis_hostport##*@}
redis_host=${redis_hostport%:*}
redis_port=${redis_hostport##*:}
if redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1; then
  echo "fngate: using the Redis already answering on $redis_host:$redis_port"
else
  echo "fngate: starting redis-server on $redis_host:$redis_port (data in .data/redis)"
  redis-server --bind "$redis_host" --port "$redis_port" --dir "$PWD/.data/redis" \
    --appendonly yes --save "" --loglevel warning &
  pids+=($!)
  wait_port "$redis_host" "$redis_port" redis-server
fi

echo "fngate: building"
go build -o bin/ ./gateway/cmd/gateway ./worker/cmd/worker

./bin/gateway &
pids+=($!)
http_port=${FNGATE_HTTP_ADDR##*:}
wait_port 127.0.0.1 "$http_port" gateway
FNGATE_NATS_URL=${FNGATE_NATS_URL:-nats://$FNGATE_NATS_LISTEN} ./bin/worker &
pids+=($!)

base="http://localhost:$http_port"
cat <<EOT

fngate is up: gateway $base, admin http://$FNGATE_ADMIN_ADDR, NATS $FNGATE_NATS_LISTEN
Try:
  curl "$base/api/hello"
  curl "$base/greet?name=CloudBase"
  curl -X POST "$base/process" -H "Content-Type: application/json" -d '{"userId": 123, "action": "update"}'
  curl "$base/users"        curl "$base/users/1"        curl "$base/users/9"
  curl "$base/echo?x=1"
  curl http://$FNGATE_ADMIN_ADDR/admin/routes
Console: http://localhost:${FNGATE_ADMIN_ADDR##*:}/console/
Ctrl-C stops everything.
EOT
wait -n "${pids[@]}" || true
echo "fngate: a process exited; stopping the rest" >&2
