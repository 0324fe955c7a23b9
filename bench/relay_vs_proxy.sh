#!/usr/bin/env bash
# relay against one nginx proxy_pass hop, in one interleaved run, on this 2-core machine.
#
# Targets (all serve the same canned upstream, an nginx mock answering from memory):
#   direct  the mock itself                                  127.0.0.1:18000
#   nginx   nginx proxy_pass in front of the mock            127.0.0.1:18001
#   relay1  `relay serve` WORKERS=1, everything on           127.0.0.1:18010 (admin 18011)
#   relay2  `relay serve` WORKERS=2, everything on           127.0.0.1:18020 (admin 18021)
#   fwd-aiohttp / fwd-relay  a featureless forwarder (bench/forwarder.py) on aiohttp or on
#           relay.http, one process                          127.0.0.1:18030 / 18031
# "Everything on": token auth, admission Lua (status, limits, hold), settlement Lua, usage logs
# (LogConsumeEnabled, drained to SQL by the admin process), embedded Redis + SQLite in DATA_DIR.
# Each relay has two users/tokens, each in a private group with one channel: one to the mock's
# JSON answer, one to <mock>/stream (the canned SSE stream); seeded by bench/setup_relay.py.
#
# Pinning (taskset; children inherit the affinity):
#   core $LOAD_CPU (0): wrk (1 thread) and the mock nginx (1 worker)
#   core $GW_CPU   (1): the nginx proxy (1 worker), the forwarders; relay1 = supervisor + 1 worker + admin +
#                       its embedded redis-server: the embedded Redis is a child of `relay serve`
#                       and inherits its affinity, so it competes with the worker on core 1
#   cores 0,1         : relay2 (supervisor, 2 workers, admin, embedded Redis); two workers cannot
#                       get two cores otherwise, so relay2 competes with wrk and the mock.
# Measuring: for each rep, concurrency and mode, every target in turn (order reversed on even
# reps): wait until the servers are idle (< 10 % of a core together, at most 30 s; other tenants
# of the machine are not waited for, their load shows as cores busy), WARM s of load, wait idle,
# DUR s measured (wrk -t1).
# Result: a Markdown table on stdout and in bench/results/<date>-relay-vs-proxy.md.
#
# Needs: apt-get install -y nginx wrk; relay installed in $VENV (default /tmp/v).
# Knobs: REPS (3) DUR (10) WARM (2) CONCS ("1 16 64") TARGETS ("direct nginx relay1 relay2")
#        LOAD_CPU (0) GW_CPU (1) VENV (/tmp/v) WORK (a fresh /tmp directory; logs stay there)
# Every process started here is stopped on exit (trap), by PID, with its process tree.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPS=${REPS:-3}
DUR=${DUR:-10}
WARM=${WARM:-2}
CONCS=${CONCS:-"1 16 64"}
TARGETS=${TARGETS:-"direct nginx relay1 relay2"}
LOAD_CPU=${LOAD_CPU:-0}
GW_CPU=${GW_CPU:-1}
VENV=${VENV:-/tmp/v}
WORK=${WORK:-$(mktemp -d /tmp/relay-bench.XXXXXX)}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
PY=$VENV/bin/python
RES=$WORK/results.jsonl
REPORT=$RESULTS_DIR/$(date +%Y-%m-%d)-relay-vs-proxy.md
MOCK_PORT=18000 PROXY_PORT=18001

for tool in nginx wrk taskset curl; do
  command -v "$tool" > /dev/null || { echo "missing $tool (apt-get install -y nginx wrk)"; exit 1; }
done
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp" "$RESULTS_DIR"
: > "$RES"
declare -A PID=()

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$WORK/run.log" >&2; }

descendants() {  # pid -> the pid and all its descendants
  local p=$1 c
  echo "$p"
  for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do descendants "$c"; done
}
stop_tree() {  # SIGTERM the root, give it 20 s to drain, then SIGKILL whatever of its tree is left
  local root=$1 pids i p
  pids=$(descendants "$root")
  kill -TERM "$root" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$root" 2>/dev/null || break; sleep 0.2; done
  for p in $pids; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  return 0
}
cleanup() {
  local name
  for name in "${!PID[@]}"; do stop_tree "${PID[$name]}"; done
  log "stopped: ${PID[*]:-nothing}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # name cpus cmd...: taskset and env exec, so $! is the server's own pid
  local name=$1 cpus=$2
  shift 2
  taskset -c "$cpus" "$@" > "$WORK/$name.log" 2>&1 &
  PID[$name]=$!
  log "started $name pid=$! on cpus $cpus"
}
wait_http() {
  local i
  for i in $(seq 1 120); do curl -sf -o /dev/null -m 2 "$1" && return 0; sleep 0.5; done
  log "timeout waiting for $1"
  return 1
}

# ------------------------------------------------------------------------------- servers
"$PY" "$HERE/nginx_conf.py" mock $MOCK_PORT > "$WORK/mock.conf"
"$PY" "$HERE/nginx_conf.py" proxy $PROXY_PORT $MOCK_PORT > "$WORK/proxy.conf"
start mock "$LOAD_CPU" nginx -p "$WORK/nginx/" -c "$WORK/mock.conf"
start nginx "$GW_CPU" nginx -p "$WORK/nginx/" -c "$WORK/proxy.conf"

relay_port() { case $1 in relay1) echo 18010 ;; relay2) echo 18020 ;; esac; }
start_relay() {  # name workers cpus
  local port
  port=$(relay_port "$1")
  start "$1" "$3" env -u SQL_DSN -u REDIS_CONN_STRING \
    DATA_DIR="$WORK/$1-data" HOST=127.0.0.1 PORT="$port" ADMIN_PORT=$((port + 1)) WORKERS="$2" \
    CRYPTO_SECRET=bench-crypto-secret-0123456789 SESSION_SECRET=bench-session-secret \
    SHUTDOWN_TIMEOUT_SECONDS=10 "$VENV/bin/relay" serve
}
for t in $TARGETS; do case $t in
  relay1) start_relay relay1 1 "$GW_CPU" ;;
  relay2) start_relay relay2 2 "0,1" ;;
  fwd-aiohttp) start fwd-aiohttp "$GW_CPU" "$PY" "$HERE/forwarder.py" aiohttp 18030 \
    "http://127.0.0.1:$MOCK_PORT" ;;
  fwd-relay) start fwd-relay "$GW_CPU" "$PY" "$HERE/forwarder.py" relay 18031 \
    "http://127.0.0.1:$MOCK_PORT" ;;
esac; done

wait_http http://127.0.0.1:$MOCK_PORT/ && wait_http http://127.0.0.1:$PROXY_PORT/
declare -A KEYS=()
for t in $TARGETS; do case $t in relay*)
  port=$(relay_port "$t")
  wait_http "http://127.0.0.1:$port/healthz" && wait_http "http://127.0.0.1:$((port + 1))/api/status"
  seeded=$(CRYPTO_SECRET=bench-crypto-secret-0123456789 "$PY" "$HERE/setup_relay.py" seed \
    "$WORK/$t-data" "http://127.0.0.1:$MOCK_PORT" "http://127.0.0.1:$port")
  KEYS[$t.nonstream]=$(sed -n 's/^KEY_NONSTREAM=//p' <<< "$seeded")
  KEYS[$t.stream]=$(sed -n 's/^KEY_STREAM=//p' <<< "$seeded")
  log "seeded $t"
  ;;
  fwd-aiohttp) wait_http http://127.0.0.1:18030/ ;;
  fwd-relay) wait_http http://127.0.0.1:18031/ ;;
esac; done

url_for() {  # target mode
  local base path=/v1/chat/completions
  case $1 in
    direct) base=http://127.0.0.1:$MOCK_PORT ;;
    nginx) base=http://127.0.0.1:$PROXY_PORT ;;
    relay*) base=http://127.0.0.1:$(relay_port "$1") ;;
    fwd-aiohttp) base=http://127.0.0.1:18030 ;;
    fwd-relay) base=http://127.0.0.1:18031 ;;
  esac
  case $1 in direct | nginx) [ "$2" = stream ] && path=/stream/v1/chat/completions ;; esac
  echo "$base$path"
}
key_for() {  # the forwarders pass Authorization through: the mock streams for sk-mock-stream
  case $1.$2 in
    relay*) echo "${KEYS[$1.$2]}" ;;
    fwd-*.stream) echo sk-mock-stream ;;
    *) echo sk-bench-direct ;;
  esac
}
servers() {  # name=pid,... for the CPU attribution
  local out="" name
  for name in "${!PID[@]}"; do out+="$name=${PID[$name]},"; done
  echo "${out%,}"
}

# ------------------------------------------------------------------------------- verification
for t in $TARGETS; do for m in nonstream stream; do
  s=false extra=""
  [ $m = stream ] && s=true extra='"stream_options":{"include_usage":true},'
  body=$(curl -s -m 10 "$(url_for $t $m)" -H "Authorization: Bearer $(key_for $t $m)" \
    -H 'Content-Type: application/json' \
    -d "{\"model\":\"gpt-4o-mini\",\"stream\":$s,$extra\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
  if [ $m = stream ]; then
    grep -q 'data: \[DONE\]' <<< "$body" && grep -q '"usage"' <<< "$body" && ok=OK || ok=BAD
  else
    grep -q '"chat.completion"' <<< "$body" && grep -q '"usage"' <<< "$body" && ok=OK || ok=BAD
  fi
  log "verify $t $m: $ok ($(grep -c '^data: ' <<< "$body" || true) SSE events, ${#body} bytes)"
  [ $ok = OK ] || { log "bad answer from $t $m: ${body:0:300}"; exit 1; }
done; done

# ------------------------------------------------------------------------------- measurements
log "REPS=$REPS DUR=${DUR}s WARM=${WARM}s CONCS=[$CONCS] TARGETS=[$TARGETS] work dir $WORK"
T_START=$(date +%s)
for rep in $(seq 1 "$REPS"); do
  order=$TARGETS
  ((rep % 2 == 0)) && order=$(tr ' ' '\n' <<< "$TARGETS" | tac | tr '\n' ' ')
  for c in $CONCS; do for m in nonstream stream; do for t in $order; do
    "$PY" "$HERE/bench_run.py" --target "$t" --mode "$m" --conc "$c" --rep "$rep" \
      --url "$(url_for "$t" "$m")" --key "$(key_for "$t" "$m")" --lua "$HERE/wrk_chat.lua" \
      --dur "$DUR" --warm "$WARM" --load-cpu "$LOAD_CPU" --servers "$(servers)" --out "$RES" \
      2>&1 | tee -a "$WORK/run.log"
  done; done; done
done
log "measured in $(($(date +%s) - T_START)) s"

# ------------------------------------------------------------------------------- report
CHECKS=""
for t in $TARGETS; do case $t in relay*)
  CHECKS+="- $t after the run: $(CRYPTO_SECRET=bench-crypto-secret-0123456789 "$PY" \
    "$HERE/setup_relay.py" check "$WORK/$t-data"); relay log lines at WARNING or worse: $(grep -cE \
    ' (WARNING|ERROR|CRITICAL) ' "$WORK/$t.log" || true)"$'\n'
esac; done
{
  echo "# relay vs one nginx proxy_pass hop — $(date -Is)"
  echo
  echo "Command: \`REPS=$REPS DUR=$DUR WARM=$WARM CONCS=\"$CONCS\" bench/relay_vs_proxy.sh\`;"
  echo "relay $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$HERE/.." \
    diff --quiet 2>/dev/null || echo ' (dirty tree)'); $(uname -sr); $(nproc) cores;"
  echo "$(nginx -v 2>&1 | sed 's/.*: //'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2);" \
    "$("$PY" --version); aiohttp $("$PY" -c 'import aiohttp; print(aiohttp.__version__)')."
  echo
  echo "Pinning: core $LOAD_CPU = wrk (1 thread) + mock nginx; core $GW_CPU = nginx proxy, the bare"
  echo "forwarders (bench/forwarder.py), and relay WORKERS=1 with its admin process and its"
  echo "embedded redis-server (a child of \`relay serve\`,"
  echo "same affinity); relay WORKERS=2 (+ admin + embedded Redis) floats over cores 0-1 and"
  echo "shares them with wrk and the mock. wrk: 1 thread, c connections, ${DUR} s after ${WARM} s"
  echo "warm-up, $REPS interleaved reps (A B C D, then D C B A, ...). The machine is shared and"
  echo "noisy (other services run on it): compare only figures of one run."
  echo "Request: the same ~600-byte chat request everywhere (bench/wrk_chat.lua); stream mode asks"
  echo "for include_usage. Canned answers: 593-byte chat.completion; 23-event SSE stream (5.9 KB)."
  echo
  echo "Checks:"
  printf '%s' "$CHECKS"
} > "$WORK/notes.md"
"$PY" "$HERE/bench_report.py" "$RES" "$WORK/notes.md" > "$REPORT"
cat "$REPORT"
log "report: $REPORT (raw: $RES)"
