# shellcheck shell=bash
# shellcheck disable=SC2034 # globals here are read by the scripts that source this file
# perf/lib.sh — helpers shared by perf/load.sh and perf/flamegraph.sh.
#
# Sourced, never run. Everything here works on 127.0.0.1 only, picks free
# ports (never fixed ones), records every process it starts in STARTED_PIDS
# and removes its temporary directory on exit (perf_cleanup, installed as an
# EXIT trap by perf_init).

PERF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$PERF_DIR/.." && pwd)
OUT_DIR="$PERF_DIR/out"

STARTED_PIDS=()          # every background process we started (root of its tree)
TMP=""                   # per-run temporary directory (mktemp -d)
CLK_TCK=$(getconf CLK_TCK)
NOFILE=1024              # open-file limit in force after perf_raise_nofile
PROXY_CPU=0              # core the proxy under test runs on
LOAD_CPU=1               # core the backend and the load generator run on
declare -A PROXY_PID=()  # proxy name -> root PID
declare -A PROXY_PORT=() # proxy name -> listening port
declare -A PROXY_TLS_PORT=() # proxy name -> TLS listening port (unset: no TLS listener)
declare -A PROXY_TLS_INFO=() # proxy name -> "TLSv1.3 TLS_AES_... X25519" as negotiated by openssl s_client
declare -A PROXY_LOG=()  # proxy name -> file with its stdout/stderr
BACKEND_PID=""
BACKEND_PORT=""
TLS_CERT=""              # make_cert: PEM certificate (ECDSA P-256, self-signed, localhost)
TLS_KEY=""               # make_cert: its PEM private key
TLS_PEM=""               # make_cert: certificate + key in one file (haproxy's crt)
TLS_FPR=""               # make_cert: SHA-256 fingerprint of TLS_CERT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

need_tool() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed (Debian: apt-get install -y nginx-light haproxy wrk linux-perf python3 curl openssl)"
    done
}

# "10s" / "2m" / "90" -> seconds (wrk's own duration syntax, without hours)
dur_to_secs() {
    local d=$1
    case $d in
        *[!0-9smh]* | '' | [smh]*) die "bad duration '$d' (use e.g. 10s, 2m)" ;;
        *s) echo "${d%s}" ;;
        *m) echo $((${d%m} * 60)) ;;
        *h) echo $((${d%h} * 3600)) ;;
        *) echo "$d" ;;
    esac
}

# Pin layout: proxy alone on CPU 0; backend + load generator share CPU 1.
perf_choose_cpus() {
    local n
    n=$(nproc)
    if ((n < 2)); then
        warn "only $n CPU: proxy, backend and wrk all share CPU 0; ratios are still comparable, req/s is not"
        PROXY_CPU=0
        LOAD_CPU=0
    fi
}

# Raise the soft open-file limit to the hard limit (raising the hard limit
# itself needs CAP_SYS_RESOURCE, which a container or a sandboxed VM may not
# grant). Every process we start inherits it.
perf_raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited ]]; then hard=1048576; fi
    ulimit -n "$hard" 2>/dev/null || true
    NOFILE=$(ulimit -n)
}

# Kill a process and all its descendants: TERM, up to 5 s grace, then KILL.
kill_tree() {
    local root=$1 pids p i
    pids=$(proc_tree "$root")
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086 # word splitting of the PID list is intended
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for p in $pids; do
            if kill -0 "$p" 2>/dev/null; then alive=1; fi
        done
        ((alive)) || break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    wait "$root" 2>/dev/null || true
}

perf_cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED_PIDS[@]}"; do
        kill_tree "$pid"
    done
    if [[ -n $TMP && -d $TMP ]]; then
        if [[ -n ${KEEP_TMP:-} ]]; then
            log "kept temporary directory $TMP (KEEP_TMP set)"
        else
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}

perf_init() {
    TMP=$(mktemp -d -t portier-perf.XXXXXX)
    # nginx workers drop to an unprivileged user when started as root: they
    # must be able to read the document root and the configs.
    chmod 755 "$TMP"
    trap perf_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # Running under systemd must not make portier talk to systemd's socket.
    unset NOTIFY_SOCKET
}

# Print N free TCP ports on 127.0.0.1 (all bound at once, so they differ).
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# PID and all its descendants, one per line.
proc_tree() {
    local root=$1
    kill -0 "$root" 2>/dev/null || return 0
    ps -e -o pid=,ppid= | awk -v root="$root" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            keep[root] = 1; print root
            changed = 1
            while (changed) {
                changed = 0
                for (i in pids) {
                    p = pids[i]
                    if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; print p; changed = 1 }
                }
            }
        }'
}

# Sum of utime+stime (fields 14 and 15 of /proc/PID/stat, clock ticks) over
# the given PIDs. The per-process figure already includes all its threads
# (io_uring io-wq workers too). A PID that vanished contributes 0.
cpu_ticks() {
    local total=0 pid stat rest f
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        rest=${stat##*) } # comm (field 2) may contain spaces and parentheses
        read -r -a f <<<"$rest"
        # rest starts at field 3: utime (14) is f[11], stime (15) is f[12]
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# Sum of VmRSS (KiB) over the given PIDs.
rss_kib() {
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

tail_log() {
    local file=$1
    if [[ -s $file ]]; then
        printf -- '--- last lines of %s ---\n' "$file" >&2
        tail -n 20 "$file" >&2
        printf -- '---\n' >&2
    fi
}

# start_pinned CPU LOGFILE CMD... : run CMD pinned to CPU in the background;
# sets LAST_PID (taskset execs the command, so it is the command's PID).
start_pinned() {
    local cpu=$1 logf=$2
    shift 2
    taskset -c "$cpu" "$@" >"$logf" 2>&1 </dev/null &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# curl_diag URL EXPECTED_FILE: one more request, printed for a human: curl's
# error, the response head and how the body differs from EXPECTED_FILE.
curl_diag() {
    local url=$1 expect=$2 got="$TMP/diag.$RANDOM" rc=0
    printf -- '--- curl -sSk --http1.1 -D - %s ---\n' "$url" >&2
    curl -sSk --http1.1 --max-time 5 -D - -o "$got" "$url" >&2 || rc=$?
    printf 'curl exit status %s\n' "$rc" >&2
    if [[ -f $got ]]; then
        printf 'body: %s bytes, expected %s; ' "$(wc -c <"$got")" "$(wc -c <"$expect")" >&2
        cmp "$got" "$expect" >&2 2>&1 && echo "identical" >&2
        rm -f "$got"
    fi
    printf -- '---\n' >&2
}

# wait_ready NAME PID URL EXPECTED_FILE LOGFILE: poll for up to 15 s until URL
# answers with exactly EXPECTED_FILE's bytes; die with the log on failure.
# https URLs are not verified (-k: the test certificate is self-signed);
# --http1.1 because wrk speaks HTTP/1.1 only (curl would offer h2 over TLS).
wait_ready() {
    local name=$1 pid=$2 url=$3 expect=$4 logf=$5 i got="$TMP/probe.$RANDOM"
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail_log "$logf"
            die "$name exited during start-up (log above)"
        fi
        if curl -sk --http1.1 --max-time 2 -o "$got" "$url" 2>/dev/null && cmp -s "$got" "$expect"; then
            rm -f "$got"
            return 0
        fi
        sleep 0.1
    done
    tail_log "$logf"
    curl_diag "$url" "$expect"
    if [[ -f $got ]]; then
        die "$name did not serve $url correctly within 15 s (got $(wc -c <"$got") bytes, expected $(wc -c <"$expect"); curl output above)"
    fi
    die "$name did not answer $url within 15 s (curl output above)"
}

# ---------------------------------------------------------------------------
# Document root and backend
# ---------------------------------------------------------------------------

make_docroot() {
    mkdir -p "$TMP/www"
    # exactly 100 bytes
    printf '%099d\n' 0 | tr 0 x >"$TMP/www/100b"
    head -c 1048576 /dev/urandom >"$TMP/www/1m"
    chmod 644 "$TMP/www/100b" "$TMP/www/1m"
}

# The TLS scenarios' certificate: ECDSA P-256, self-signed for "localhost",
# valid 2 days, in $TMP/tls; one file for all proxies.
make_cert() {
    local dir="$TMP/tls"
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1 || {
        tail_log "$dir/openssl.log"
        die "openssl could not make the test certificate"
    }
    cat "$dir/cert.pem" "$dir/key.pem" >"$dir/combined.pem"
    # nginx and haproxy read it as root before dropping privileges; the
    # directory is private to this run and deleted on exit.
    chmod 644 "$dir/cert.pem" "$dir/key.pem" "$dir/combined.pem"
    TLS_CERT="$dir/cert.pem" TLS_KEY="$dir/key.pem" TLS_PEM="$dir/combined.pem"
    TLS_FPR=$(openssl x509 -in "$TLS_CERT" -noout -fingerprint -sha256)
}

# TLS 1.3 suites in portier's (rustls's) order, for --same-cipher.
SAME_CIPHER_SUITES=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256

# tls_check NAME PORT: the certificate served on PORT must be TLS_CERT (for a
# client that sends "127.0.0.1" as SNI, like wrk); records the negotiated
# protocol, cipher and key exchange group (OpenSSL's client defaults, which
# are wrk's) in PROXY_TLS_INFO[NAME].
tls_check() {
    local name=$1 port=$2 out fpr
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername 127.0.0.1 </dev/null 2>&1) || true
    fpr=$(openssl x509 -noout -fingerprint -sha256 <<<"$out" 2>/dev/null) || true
    if [[ $fpr != "$TLS_FPR" ]]; then
        printf -- '--- openssl s_client -connect 127.0.0.1:%s -servername 127.0.0.1 ---\n%s\n---\n' "$port" "$out" >&2
        die "$name serves another certificate on its TLS port $port (${fpr:-none}; expected $TLS_FPR)"
    fi
    # "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" (printed without
    # session tickets too, unlike the SSL-Session block)
    PROXY_TLS_INFO[$name]=$(awk '
        /^New, / { sub(/,$/, "", $2); p = $2; c = $NF }
        /^(Server|Peer) Temp Key:/ { sub(/^[^:]*: */, ""); sub(/,.*/, ""); g = $0 }
        /^Negotiated TLS1.3 group:/ { g = $NF }
        END { printf "%s %s %s", p, c, g }' <<<"$out")
}

# Common nginx preamble for a private prefix directory $1.
nginx_preamble() {
    local dir=$1
    cat <<EOF
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections $((NOFILE - 64));
}
EOF
}

nginx_temp_paths() {
    local dir=$1
    cat <<EOF
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;
EOF
}

# Backend: one nginx worker pinned to LOAD_CPU serving /100b and /1m.
start_backend() {
    local dir="$TMP/backend"
    mkdir -p "$dir"
    {
        nginx_preamble "$dir"
        cat <<EOF
http {
    access_log off;
$(nginx_temp_paths "$dir")
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$BACKEND_PORT backlog=4096;
        root $TMP/www;
        location / { }
    }
}
EOF
    } >"$dir/nginx.conf"
    nginx -t -p "$dir" -c "$dir/nginx.conf" >"$dir/check.log" 2>&1 || {
        tail_log "$dir/check.log"
        die "backend nginx configuration rejected"
    }
    start_pinned "$LOAD_CPU" "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;'
    BACKEND_PID=$LAST_PID
    wait_ready "backend nginx" "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/100b" "$TMP/www/100b" "$dir/error.log"
    wait_ready "backend nginx" "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/1m" "$TMP/www/1m" "$dir/error.log"
}

# ---------------------------------------------------------------------------
# Proxies, each pinned to PROXY_CPU with one worker and keep-alive upstream
# ---------------------------------------------------------------------------

start_proxy_portier() {
    local port=$1 bin=$2 tls=${3:-} dir="$TMP/portier" tls_listener=""
    mkdir -p "$dir"
    if [[ -n $tls ]]; then
        # default_certificate: a client that sends no SNI or an IP address
        # (curl and wrk to https://127.0.0.1) gets this certificate, as with
        # nginx and haproxy; portier's default would be a generated one.
        tls_listener="
[[listener]]
address = \"127.0.0.1:$tls\"
tls = { cert = \"$TLS_CERT\", key = \"$TLS_KEY\", name = \"test\" }
default_certificate = \"test\"
session_tickets = false
"
    fi
    cat >"$dir/portier.toml" <<EOF
[runtime]
workers = 1

[[listener]]
address = "127.0.0.1:$port"
$tls_listener
[[upstream]]
name = "backend"
servers = ["127.0.0.1:$BACKEND_PORT"]
max_idle_per_server = 128

[[route]]
upstream = "backend"
EOF
    PROXY_LOG[portier]="$dir/portier.log"
    # Quiet logging (portier reads PORTIER_LOG, an env-filter): console
    # output at info level would be measured too.
    PORTIER_LOG=${PORTIER_LOG:-warn} start_pinned "$PROXY_CPU" "$dir/portier.log" "$bin" --config "$dir/portier.toml"
    PROXY_PID[portier]=$LAST_PID
}

start_proxy_nginx() {
    local port=$1 tls=${2:-} dir="$TMP/nginx-proxy" tls_listen=""
    mkdir -p "$dir"
    if [[ -n $tls ]]; then
        tls_listen="
        listen 127.0.0.1:$tls ssl backlog=4096;
        ssl_certificate $TLS_CERT;
        ssl_certificate_key $TLS_KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        ssl_session_tickets off;"
        if ((${SAME_CIPHER:-0})); then
            tls_listen+="
        ssl_prefer_server_ciphers on;
        ssl_conf_command Ciphersuites $SAME_CIPHER_SUITES;"
        fi
    fi
    {
        nginx_preamble "$dir"
        cat <<EOF
http {
    access_log off;
$(nginx_temp_paths "$dir")
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 128;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$port backlog=4096;$tls_listen
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_buffering on;   # default buffers (8 x 4k/8k + 4k/8k)
        }
    }
}
EOF
    } >"$dir/nginx.conf"
    nginx -t -p "$dir" -c "$dir/nginx.conf" >"$dir/check.log" 2>&1 || {
        tail_log "$dir/check.log"
        die "proxy nginx configuration rejected"
    }
    PROXY_LOG[nginx]="$dir/error.log"
    start_pinned "$PROXY_CPU" "$dir/stdout.log" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;'
    PROXY_PID[nginx]=$LAST_PID
}

start_proxy_haproxy() {
    local port=$1 tls=${2:-} dir="$TMP/haproxy" tls_bind=""
    mkdir -p "$dir"
    if [[ -n $tls ]]; then
        # haproxy wants certificate and key in one file; no-tls-tickets as
        # nginx (ssl_session_tickets off) and portier (session_tickets = false)
        tls_bind="
    bind 127.0.0.1:$tls ssl crt $TLS_PEM ssl-min-ver TLSv1.2 no-tls-tickets"
        # haproxy uses the server's order by default; only the list differs.
        if ((${SAME_CIPHER:-0})); then tls_bind+=" ciphersuites $SAME_CIPHER_SUITES"; fi
    fi
    # haproxy needs about 2 fds per connection (client + server side).
    local maxconn=$(((NOFILE - 200) / 2))
    cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $maxconn
    # no "log" line: no logging at all

defaults
    mode http
    option forwardfor
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 60s

frontend fe
    bind 127.0.0.1:$port$tls_bind
    http-request set-header X-Real-IP %[src]
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    default_backend be

backend be
    server backend 127.0.0.1:$BACKEND_PORT
EOF
    haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 || {
        tail_log "$dir/check.log"
        die "haproxy configuration rejected"
    }
    PROXY_LOG[haproxy]="$dir/haproxy.log"
    start_pinned "$PROXY_CPU" "$dir/haproxy.log" haproxy -db -f "$dir/haproxy.cfg"
    PROXY_PID[haproxy]=$LAST_PID
}

# Locate (and if asked or needed, build) the portier release binary.
# Prints its path; dies with a clear message if it cannot be had.
portier_binary() {
    local build=$1 bin=${PORTIER_BIN:-$REPO_DIR/target/release/portier}
    if [[ -z ${PORTIER_BIN:-} ]] && { ((build)) || [[ ! -x $bin ]]; }; then
        if command -v cargo >/dev/null 2>&1; then
            log "building portier (cargo build --release) in $REPO_DIR"
            (cd "$REPO_DIR" && timeout 3600 cargo build --release >&2) ||
                die "cargo build --release failed; fix the build or run with --only nginx,haproxy"
        fi
    fi
    [[ -x $bin ]] || die "portier binary not found at $bin (build it with 'cargo build --release', pass --build, set PORTIER_BIN, or use --only nginx,haproxy)"
    if [[ $(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0) != 0 ]]; then
        warn "kernel.io_uring_disabled=$(cat /proc/sys/kernel/io_uring_disabled): portier will not start (sysctl -w kernel.io_uring_disabled=0)"
    fi
    echo "$bin"
}

# start_proxy NAME PORT [PORTIER_BIN [TLS_PORT]] then wait until it proxies
# both files (on TLS_PORT too, over TLS with the certificate of make_cert,
# which must have run, when TLS_PORT is given).
start_proxy() {
    local name=$1 port=$2 tls=${4:-}
    case $name in
        portier) start_proxy_portier "$port" "$3" "$tls" ;;
        nginx) start_proxy_nginx "$port" "$tls" ;;
        haproxy) start_proxy_haproxy "$port" "$tls" ;;
        *) die "unknown proxy '$name'" ;;
    esac
    PROXY_PORT[$name]=$port
    wait_ready "$name" "${PROXY_PID[$name]}" "http://127.0.0.1:$port/100b" "$TMP/www/100b" "${PROXY_LOG[$name]}"
    wait_ready "$name" "${PROXY_PID[$name]}" "http://127.0.0.1:$port/1m" "$TMP/www/1m" "${PROXY_LOG[$name]}"
    if [[ -n $tls ]]; then
        PROXY_TLS_PORT[$name]=$tls
        wait_ready "$name" "${PROXY_PID[$name]}" "https://127.0.0.1:$tls/100b" "$TMP/www/100b" "${PROXY_LOG[$name]}"
        wait_ready "$name" "${PROXY_PID[$name]}" "https://127.0.0.1:$tls/1m" "$TMP/www/1m" "${PROXY_LOG[$name]}"
        tls_check "$name" "$tls"
    fi
}

# restart_proxy NAME [PORTIER_BIN]: stop the proxy and start a fresh one on
# the same port(s) (the old log is kept as LOG.before-restart).
restart_proxy() {
    local name=$1 pid=${PROXY_PID[$1]}
    kill_tree "$pid"
    forget_pid "$pid"
    mv -f "${PROXY_LOG[$name]}" "${PROXY_LOG[$name]}.before-restart" 2>/dev/null || true
    start_proxy "$name" "${PROXY_PORT[$name]}" "${2:-}" "${PROXY_TLS_PORT[$name]:-}"
}

# Drop a PID we already reaped from STARTED_PIDS (so cleanup never signals a
# recycled PID).
forget_pid() {
    local p keep=()
    for p in "${STARTED_PIDS[@]}"; do
        [[ $p == "$1" ]] || keep+=("$p")
    done
    STARTED_PIDS=("${keep[@]}")
}

# run_waitable CMD...: run CMD in the background and wait for it, so that a
# SIGTERM/SIGINT to this script runs the cleanup trap at once (bash defers
# traps while a foreground child runs). Returns CMD's exit status.
run_waitable() {
    local pid rc=0
    "$@" &
    pid=$!
    STARTED_PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    return "$rc"
}

# Sum of run_delay (ns spent runnable but waiting for a CPU; field 2 of
# /proc/PID/task/TID/schedstat) over all threads of the given PIDs. The
# kernel fills it only with kernel.task_delayacct=1 (or schedstats).
run_delay_ns() {
    local pid
    for pid in "$@"; do
        cat /proc/"$pid"/task/*/schedstat 2>/dev/null || true
    done | awk '{ s += $2 } END { printf "%.0f\n", s }'
}

delayacct_on() {
    [[ $(cat /proc/sys/kernel/task_delayacct 2>/dev/null || echo 0) == 1 ]] ||
        [[ $(cat /proc/sys/kernel/sched_schedstats 2>/dev/null || echo 0) == 1 ]]
}
