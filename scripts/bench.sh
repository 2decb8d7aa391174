#!/usr/bin/env bash
# Measures fngate against baselines run in the same invocation, on loopback
# only, bounded in time: ROUNDS x targets x DURATION seconds of wrk load.
#
#   bare       a bare gin handler
#   nats       gin -> NATS request-reply -> a bare responder
#   gateway    the fngate gateway -> NATS -> worker, built-in Go `echo`
#   node       the same with the Node.js twin of `echo`
#   greet      the same with the seed's Node.js `greet` (deployments/functions)
#   pygreet    the same with its Python twin (deployments/functions-python)
#   keyed      the gateway's `echo` with a unique Idempotency-Key per request
#   unkeyed    the same route and the same wrk script with a unique
#              X-Bench-Seq header instead: keyed's baseline, so the two
#              differ only in the key (wrk's Lua per request costs CPU too)
#   jetstream  gin -> JetStream publish with ack -> 202
#   async      the fngate gateway accepting async invocations of `echo` -> 202
#   cpu1       the gateway -> the CPU-bound built-in `cpu` on 1 worker process
#   cpu2       the same on 2 worker processes (each worker GOMAXPROCS=1)
#   stream     the gateway -> a streamed response of 10 server-sent events
#              (built-in Go `events`, ?n=10&ms=0): chunks over NATS
# After each async run a worker drains the queued invocations: the drain rate.
# When greet or pygreet ran: cold start p50/p99 per runtime (20 cold starts
# each, two functions under a process limit of one called in turn; p99 of 20
# is the slowest).
#
#   scripts/bench.sh routes   the control plane at 100,000 routes instead
#   (scripts/routesbench): two gateway processes on a Redis holding
#   100,001 routes over 20,000 hosts; startup, RSS, admin change latency,
#   time until both gateways serve a change, CPU per change against a
#   snapshot load (the baseline), routes file re-applied as a diff, match
#   latency. ROUNDS runs of it.
#
# Prints requests/s and p50/p99 latency (median over rounds) for each target
# and the ratios. Machines are shared and noisy: read the ratios, not the
# absolute numbers. It also prints the CPU time the system under test (the
# benchserver process, its worker processes and Redis; not wrk) spent per
# request, and the ratio of those costs: steadier than throughput on a noisy
# machine, and what throughput would follow where the load generator does
# not share the cores.
#   ROUNDS=3 DURATION=5 CONNS=32 scripts/bench.sh
#   TARGETS="cpu1 cpu2" ROUNDS=2 scripts/bench.sh   # only these targets
#   CPU_N=60000 sets the cpu targets' work per call (?n= SHA-256 rounds;
#   default the function's, 12000, about 1.3 ms)
#   NATS_SYNC=always runs the embedded NATS server (every target's) with
#   that JetStream fsync policy, as FNGATE_NATS_SYNC (default the
#   gateway's): compare the jetstream and async targets across two runs
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
TARGETS=${TARGETS:-}
CPU_N=${CPU_N:-}
NATS_SYNC=${NATS_SYNC:-}

MODE=${1:-}
fngate_need redis-server redis-server
fngate_need redis-cli redis-tools
if [ "$MODE" != routes ]; then
  fngate_need wrk wrk
  fngate_need_node
  fngate_need python3 python3
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=
for _ in $(seq 20); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench: no free port for Redis" >&2; exit 1; }
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$work" --loglevel warning &
pids+=($!)
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

if [ "$MODE" = routes ]; then
  go build -o "$work/gateway" ./gateway/cmd/gateway
  go build -o "$work/routesbench" ./scripts/routesbench
  echo "bench: routes, $ROUNDS rounds; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for round in $(seq "$ROUNDS"); do
    echo "round $round"
    "$work/routesbench" -redis-url "redis://127.0.0.1:$port/0" -gateway "$work/gateway"
  done
  exit 0
fi

go build -o "$work/benchserver" ./scripts/benchserver
"$work/benchserver" -redis-url "redis://127.0.0.1:$port/0" -store-dir "$work/nats" ${NATS_SYNC:+-nats-sync "$NATS_SYNC"} >"$work/targets" 2>"$work/benchserver.log" &
pids+=($!)
bs_pid=$!
for _ in $(seq 300); do grep -q '^ready' "$work/targets" && break; sleep 0.1; done
grep -q '^ready' "$work/targets" || { cat "$work/benchserver.log" >&2; echo "bench: benchserver not ready" >&2; exit 1; }
mapfile -t names < <(awk '$1=="target" && $2!="control"{print $2}' "$work/targets")
if [ -n "$TARGETS" ]; then
  wanted=()
  for t in $TARGETS; do
    printf '%s\n' "${names[@]}" | grep -qx "$t" || { echo "bench: no target $t (have ${names[*]})" >&2; exit 1; }
    wanted+=("$t")
  done
  names=("${wanted[@]}")
fi
has() { printf '%s\n' "${names[@]}" | grep -qx "$1"; }
control=$(awk '$1=="target" && $2=="control"{print $3}' "$work/targets")

# Unique idempotency keys for the keyed target, new for every run; the
# unkeyed target sends the same requests with another header name.
for h in Idempotency-Key:keyed X-Bench-Seq:unkeyed; do
  cat >"$work/${h#*:}.lua" <<LUA
local n = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
request = function()
  n = n + 1
  return wrk.format("GET", nil, { ["${h%%:*}"] = prefix .. "-" .. n })
end
LUA
done

# CPU clock ticks (user + system) used so far by Redis, the benchserver
# and the benchserver's worker processes.
hz=$(getconf CLK_TCK)
cpu_ticks() {
  local p t=0
  for p in "$redis_pid" "$bs_pid" $(cat /proc/"$bs_pid"/task/*/children 2>/dev/null); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# wrk latency to milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.3f", v}'; }

echo "bench: $ROUNDS rounds x ${DURATION}s per target, $CONNS connections, wrk 1 thread, loopback, NATS sync ${NATS_SYNC:-default}"
if has cpu1 || has cpu2; then
  echo "bench: cpu1/cpu2 workers are separate processes on $(nproc) cores, shared with the gateway, NATS and wrk:"
  sed -n 's/^benchserver: cpu worker/  worker/p' "$work/benchserver.log"
fi
for round in $(seq "$ROUNDS"); do
  for n in "${names[@]}"; do
    url=$(awk -v n="$n" '$1=="target" && $2==n {print $3}' "$work/targets")
    case "$n" in cpu1|cpu2) [ -n "$CPU_N" ] && url="$url?n=$CPU_N" ;; esac
    script=()
    case "$n" in keyed|unkeyed) script=(-s "$work/$n.lua") ;; esac
    c0=$(cpu_ticks)
    out=$(wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${script[@]}" "$url")
    c1=$(cpu_ticks)
    rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out")
    cpu=$(awk -v d=$((c1 - c0)) -v hz="$hz" '/ requests in /{printf "%.1f", ($1 > 0) ? d / hz / $1 * 1e6 : 0}' <<<"$out")
    p50=$(awk '$1=="50%"{print $2}' <<<"$out" | to_ms)
    p99=$(awk '$1=="99%"{print $2}' <<<"$out" | to_ms)
    non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out"); errs=$(awk '/Socket errors/{print}' <<<"$out")
    if [ -n "$non2xx" ] || [ -n "$errs" ]; then echo "bench: $n had failures: non-2xx=${non2xx:-0} $errs" >&2; fi
    echo "$n $rps $p50 $p99 $round $cpu" >>"$work/results"
    printf '  round %d %-9s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6.1f us/req\n' "$round" "$n" "$rps" "$p50" "$p99" "$cpu"
    if [ "$n" = async ]; then
      c0=$(cpu_ticks)
      d=$(curl -sf -X POST "${control}drain")
      c1=$(cpu_ticks)
      rate=$(sed -n 's/.*"perSecond":\([0-9.]*\).*/\1/p' <<<"$d")
      count=$(sed -n 's/.*"invocations":\([0-9]*\).*/\1/p' <<<"$d")
      # CPU per invocation drained (worker, NATS and Redis), as for a request.
      cpu=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v n="$count" 'BEGIN{printf "%.1f", (n > 0) ? d / hz / n * 1e6 : 0}')
      echo "drain $rate 0 0 $round $cpu" >>"$work/results"
      printf '  round %d %-9s %10.0f invocations/s end to end (%s queued invocations run)  cpu %6.1f us/invocation\n' "$round" "drain" "$rate" "$count" "$cpu"
    fi
  done
done

echo
echo "median over $ROUNDS rounds:"
median() { sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
declare -A RPS
if has async; then
  RPS[drain]=$(awk '$1=="drain"{print $2}' "$work/results" | median)
  printf '  %-9s %10.0f invocations/s drained  cpu %6.1f us/invocation\n' drain "${RPS[drain]}" "$(awk '$1=="drain"{print $6}' "$work/results" | median)"
fi
for n in "${names[@]}"; do
  rps=$(awk -v n="$n" '$1==n{print $2}' "$work/results" | median)
  p50=$(awk -v n="$n" '$1==n{print $3}' "$work/results" | median)
  p99=$(awk -v n="$n" '$1==n{print $4}' "$work/results" | median)
  cpu=$(awk -v n="$n" '$1==n{print $6}' "$work/results" | median)
  RPS[$n]=$rps
  printf '  %-9s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6.1f us/req\n' "$n" "$rps" "$p50" "$p99" "$cpu"
done
echo
echo "ratios (each the median over rounds of that round's ratio, since rounds interleave targets):"
echo "  throughput A / B, then cost: B's CPU per request / A's (the system under test, not wrk)"
# ratio A B COL: per round, A's column COL over B's (COL 6, CPU, inverted).
ratio() {
  awk -v a="$1" -v b="$2" -v c="$3" '$1==a{x[$5]=$c} $1==b{y[$5]=$c}
    END{for (r in x) if (x[r] > 0 && y[r] > 0) print (c == 6 ? y[r]/x[r] : x[r]/y[r])}' "$work/results" |
    median | awk '{printf "%.2f", $1}'
}
# show A B TEXT: the ratios of A to B when both ran.
show() {
  { has "$1" || [ "$1" = drain ]; } && has "$2" || return 0
  local cost="    "
  case "$1" in cpu2) ;; *) cost=$(ratio "$1" "$2" 6) ;; esac
  printf '  %-7s / %-9s  %s  cost %s   %s\n' "$1" "$2" "$(ratio "$1" "$2" 2)" "$cost" "$3"
}
show gateway nats "sync Go echo vs bare NATS request-reply (target >= 0.85)"
show gateway bare ""
show nats bare ""
show node gateway "sync Node.js echo vs Go echo"
show greet gateway "sync Node.js greet vs Go echo (target >= 0.75)"
show pygreet gateway "sync Python greet vs Go echo"
show keyed unkeyed "unique Idempotency-Key per call vs none (target >= 0.7)"
show stream gateway "a 10-chunk streamed response vs a whole Go echo"
show async jetstream "async accept vs bare JetStream publish (target >= 0.8)"
show drain async "end-to-end drain rate vs accept rate"
show cpu2 cpu1 "CPU-bound \`cpu\` (${CPU_N:-12000} SHA-256 rounds per call): 2 worker processes vs 1, each GOMAXPROCS=1;
                          the gateway, NATS and wrk share the same $(nproc) cores (2 would be perfect scaling)"
if has greet || has pygreet; then
  echo
  echo "cold starts (p50 / p99 of 20 per runtime, ms):"
  echo "  $(curl -sf -X POST "${control}coldstart")"
fi
