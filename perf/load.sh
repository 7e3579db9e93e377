#!/usr/bin/env bash
# perf/load.sh — portier, nginx and haproxy side by side, in one run.
#
# Topology (all on 127.0.0.1, free ports, nothing fixed):
#   wrk (CPU 1) --> proxy under test (CPU 0, one worker) --> backend nginx (CPU 1)
# The three proxies run at the same time (the idle ones cost nothing) and
# the scenarios are run scenario by scenario, proxy by proxy, so that drift
# of the machine over the run hits every proxy alike.
#
# The stable figure is CPU time of the proxy per request (µs/req), measured
# from /proc/PID/stat over the measured wrk window only; quote its ratio to
# nginx from one run. See perf/README.md.
#
# TLS scenarios (tls100b, tls1m, tlsidle) use a second listener per proxy
# with a self-signed ECDSA P-256 certificate made for the run.
#
# Usage: perf/load.sh [--duration 10s] [--warmup 2s] [--connections 64]
#                     [--large-connections 16] [--only portier,nginx,haproxy]
#                     [--scenarios 100b,1m,idle,tls100b,tls1m,tlsidle] [--idle 4000]
#                     [--repeat 1] [--build]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

CMDLINE=$(printf '%q ' "$0" "$@")
DURATION=10s
WARMUP=2s
CONNS=64
LARGE_CONNS=16
ONLY=portier,nginx,haproxy
SCENARIOS=100b,1m,idle,tls100b,tls1m,tlsidle
IDLE_N=4000
REPEAT=1
BUILD=0
SAME_CIPHER=0

usage() {
    cat <<EOF
usage: $0 [options]
  --duration D           measured wrk run per proxy and scenario (default $DURATION)
  --warmup D             unmeasured wrk run before each measured one (default $WARMUP; 0 = none)
  --connections C        wrk connections for the 100b and tls100b scenarios (default $CONNS)
  --large-connections C  wrk connections for the 1m and tls1m scenarios (default $LARGE_CONNS)
  --only LIST            proxies, comma-separated, from portier,nginx,haproxy (default $ONLY)
  --scenarios LIST       from 100b,1m,idle,tls100b,tls1m,tlsidle (default: all)
  --idle N               idle keep-alive connections for the idle and tlsidle scenarios (default $IDLE_N)
  --repeat N             rounds of the load scenarios; the table shows medians (default $REPEAT)
  --same-cipher          nginx and haproxy prefer TLS_AES_128_GCM_SHA256 like portier (server order),
                         so tls1m compares the proxies on one cipher rather than their defaults
  --build                run 'cargo build --release' first (also done when the binary is missing)
environment: PORTIER_BIN=path (use this binary, never build), KEEP_TMP=1 (keep configs and logs)
EOF
}

while (($#)); do
    case $1 in
        --duration) DURATION=${2:?}; shift 2 ;;
        --warmup) WARMUP=${2:?}; shift 2 ;;
        --connections) CONNS=${2:?}; shift 2 ;;
        --large-connections) LARGE_CONNS=${2:?}; shift 2 ;;
        --only) ONLY=${2:?}; shift 2 ;;
        --scenarios) SCENARIOS=${2:?}; shift 2 ;;
        --idle) IDLE_N=${2:?}; shift 2 ;;
        --repeat) REPEAT=${2:?}; shift 2 ;;
        --build) BUILD=1; shift ;;
        --same-cipher) SAME_CIPHER=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

DUR_S=$(dur_to_secs "$DURATION")
WARM_S=$(dur_to_secs "$WARMUP")
for v in CONNS LARGE_CONNS IDLE_N REPEAT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
((DUR_S > 0)) || die "--duration must be positive"

IFS=, read -r -a ONLY_IN <<<"$ONLY"
PROXIES=()
for p in "${ONLY_IN[@]}"; do
    case $p in portier | nginx | haproxy) ;; *) die "unknown proxy '$p' in --only" ;; esac
    [[ " ${PROXIES[*]} " == *" $p "* ]] || PROXIES+=("$p")
done
((${#PROXIES[@]})) || die "--only names no proxy"
IFS=, read -r -a SCEN_IN <<<"$SCENARIOS"
# idle and tlsidle run first, each on freshly started proxies (restarted
# between the two), so that memory the allocator kept from earlier
# connections does not hide the cost of idle connections.
SCEN=()
TLS_ON=0
for s in "${SCEN_IN[@]}"; do
    case $s in 100b | 1m | idle) ;; tls100b | tls1m | tlsidle) TLS_ON=1 ;; *) die "unknown scenario '$s' in --scenarios" ;; esac
done
for s in idle tlsidle 100b 1m tls100b tls1m; do
    for t in "${SCEN_IN[@]}"; do
        if [[ $t == "$s" ]]; then SCEN+=("$s"); break; fi
    done
done

is_idle() { [[ $1 == idle || $1 == tlsidle ]]; }

need_tool wrk nginx taskset python3 curl timeout ps awk cmp
if ((TLS_ON)); then
    need_tool openssl
    nginx -V 2>&1 | grep -q -- --with-http_ssl_module ||
        die "this nginx has no SSL module (nginx -V lacks --with-http_ssl_module): it cannot run the TLS scenarios"
fi
for p in "${PROXIES[@]}"; do
    [[ $p != haproxy ]] || need_tool haproxy
done
PORTIER=""
for p in "${PROXIES[@]}"; do
    if [[ $p == portier ]]; then PORTIER=$(portier_binary "$BUILD"); fi
done

perf_choose_cpus
perf_raise_nofile
if (($(cat /proc/sys/net/core/somaxconn) < 4096)) || [[ $(cat /proc/sys/net/ipv4/tcp_tw_reuse) == 0 ]]; then
    warn "kernel not tuned for load tests (somaxconn $(cat /proc/sys/net/core/somaxconn), tcp_tw_reuse $(cat /proc/sys/net/ipv4/tcp_tw_reuse)); as root: sysctl -p $PERF_DIR/sysctl.conf"
fi
for s in "${SCEN[@]}"; do
    if is_idle "$s" && ((2 * IDLE_N + 512 > NOFILE)); then
        die "--idle $IDLE_N needs an open-file limit of at least $((2 * IDLE_N + 512)); this shell's hard limit is $NOFILE (raise it with 'ulimit -Hn' as root/CAP_SYS_RESOURCE, or lower --idle)"
    fi
done

perf_init
make_docroot
if ((TLS_ON)); then make_cert; fi
read -r BACKEND_PORT P1 P2 P3 T1 T2 T3 <<<"$(free_ports 7)"
FREE=("$P1" "$P2" "$P3")
FREE_TLS=("$T1" "$T2" "$T3")

log "backend nginx on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU)"
start_backend
i=0
declare -A PROXY_USED=() # proxy name -> 1 once a scenario ran against it
for p in "${PROXIES[@]}"; do
    tls=""
    if ((TLS_ON)); then tls=${FREE_TLS[$i]}; fi
    log "starting $p on 127.0.0.1:${FREE[$i]}${tls:+ and TLS on 127.0.0.1:$tls} (CPU $PROXY_CPU)"
    start_proxy "$p" "${FREE[$i]}" "$PORTIER" "$tls"
    i=$((i + 1))
done

# ---------------------------------------------------------------------------
# measurement helpers
# ---------------------------------------------------------------------------

# "1.23ms" -> "1.230" (milliseconds)
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000
        else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
        printf "%.3f", n }'
}

# /proc/stat per-CPU counters for cpu$1: "busy total steal"
cpu_line() {
    awk -v c="cpu$1" '$1 == c {
        t = 0; for (i = 2; i <= 9; i++) t += $i   # user..steal (guest is inside user)
        print t - $5 - $6, t, $9 }' /proc/stat
}

ksoftirqd_pids() { pgrep -x 'ksoftirqd/[0-9]+' || true; }

ensure_alive() {
    local name=$1
    if ! kill -0 "${PROXY_PID[$name]}" 2>/dev/null; then
        tail_log "${PROXY_LOG[$name]}"
        die "$name died during the run (log above)"
    fi
}

# results, keyed "scenario|proxy|round" (idle, tlsidle: "scenario|proxy")
declare -A R_REQS R_RPS R_P99 R_ERR R_ERRTXT R_CPU_US R_CPU_S R_BE_US R_SIRQ_US R_PBUSY R_LBUSY R_STEAL
declare -A R_TOP R_OTHER R_CORE_US R_WAIT
declare -A R_RSS0 R_RSS1 R_IDLE_OK R_IDLE_OPEN
WARNINGS=()

snapall() { # every thread on the machine: "pid/tid comm ticks"
    awk '{
        line = $0; o = index(line, "("); c = 0
        for (i = length(line); i > 0; i--) if (substr(line, i, 1) == ")") { c = i; break }
        comm = substr(line, o + 1, c - o - 1); gsub(/ /, "_", comm)
        n = split(substr(line, c + 2), f, " ")
        f2 = FILENAME; sub(/^\/proc\//, "", f2); sub(/\/stat$/, "", f2)
        print f2, comm, f[12] + f[13] }' /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null || true
}

run_wrk() { # url conns duration outfile
    run_waitable timeout $(($(dur_to_secs "$3") + 30)) taskset -c "$LOAD_CPU" \
        wrk -t1 -c"$2" -d"$3" --timeout 5s --latency "$1" >"$4" 2>&1
}

measure_load() { # scenario proxy round
    local sc=$1 px=$2 round=$3 path conns url out key tag
    case $sc in
        100b | tls100b) path=/100b conns=$CONNS ;;
        1m | tls1m) path=/1m conns=$LARGE_CONNS ;;
    esac
    case $sc in
        tls*) url="https://127.0.0.1:${PROXY_TLS_PORT[$px]}$path" ;;
        *) url="http://127.0.0.1:${PROXY_PORT[$px]}$path" ;;
    esac
    PROXY_USED[$px]=1
    key="$sc|$px|$round"
    tag="$sc via $px"
    if ((REPEAT > 1)); then tag+=" (round $round)"; fi
    out="$TMP/wrk-$sc-$px-$round.txt"
    if ((WARM_S > 0)); then
        log "$tag: warm-up ${WARM_S}s"
        run_wrk "$url" "$conns" "${WARM_S}s" "$TMP/warm-$sc-$px-$round.txt" || true
    fi
    ensure_alive "$px"
    log "$tag: measuring ${DUR_S}s, $conns connections"

    local -a ppids bpids kpids
    mapfile -t ppids < <(proc_tree "${PROXY_PID[$px]}")
    mapfile -t bpids < <(proc_tree "$BACKEND_PID")
    mapfile -t kpids < <(ksoftirqd_pids)
    local p0 b0 k0 c0 l0 p1 b1 k1 c1 l1
    # Readings right around wrk; the whole-machine snapshot (for the list of
    # CPU users) is taken outside, so its own cost is not in the window.
    snapall >"$TMP/snap0"
    c0=$(cpu_line "$PROXY_CPU")
    l0=$(cpu_line "$LOAD_CPU")
    p0=$(cpu_ticks "${ppids[@]}")
    b0=$(cpu_ticks "${bpids[@]}")
    k0=$(cpu_ticks "${kpids[@]}")
    local rc=0 w0 w1 t0 t1
    w0=$(run_delay_ns "${ppids[@]}")
    t0=$(date +%s%N)
    run_wrk "$url" "$conns" "${DUR_S}s" "$out" || rc=$?
    t1=$(date +%s%N)
    w1=$(run_delay_ns "${ppids[@]}")
    p1=$(cpu_ticks "${ppids[@]}")
    b1=$(cpu_ticks "${bpids[@]}")
    k1=$(cpu_ticks "${kpids[@]}")
    c1=$(cpu_line "$PROXY_CPU")
    l1=$(cpu_line "$LOAD_CPU")
    snapall >"$TMP/snap1"
    # label our own processes by role; the rest keep their command name
    local roles="" q r
    for r in "${!PROXY_PID[@]}"; do
        for q in $(proc_tree "${PROXY_PID[$r]}"); do roles+=" $q=proxy-$r"; done
    done
    for q in "${bpids[@]}"; do roles+=" $q=backend-nginx"; done
    R_TOP[$key]=$(join <(sort "$TMP/snap0") <(sort "$TMP/snap1") |
        awk -v roles="$roles" '
            BEGIN { n = split(roles, a, " "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); role[kv[1]] = kv[2] } }
            $5 > $3 { split($1, id, "/"); name = (id[1] in role) ? role[id[1]] : $2; used[name] += $5 - $3 }
            END { for (x in used) print used[x], x }' |
        sort -rn | head -n 6 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
    ensure_alive "$px"
    if ((rc != 0)); then
        cat "$out" >&2
        die "wrk failed (exit $rc) against $px"
    fi

    local reqs rps p99 sock non2xx
    reqs=$(awk '/ requests in / { print $1; exit }' "$out")
    rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
    p99=$(awk '$1 == "99%" { print $2; exit }' "$out")
    sock=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10; exit }' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
    sock=${sock:-0} non2xx=${non2xx:-0} reqs=${reqs:-0}
    R_REQS[$key]=$reqs
    R_RPS[$key]=${rps:-0}
    R_P99[$key]=$(to_ms "${p99:-0us}")
    # shellcheck disable=SC2034 # read through a nameref in over_rounds
    R_ERR[$key]=$((sock + non2xx))
    R_ERRTXT[$key]="socket $sock ($(awk '/Socket errors:/ { sub(/^ *Socket errors: /, ""); print; exit }' "$out")), non-2xx/3xx $non2xx"
    if ((sock + non2xx > 0)); then
        WARNINGS+=("$tag: $((sock + non2xx)) errors — ${R_ERRTXT[$key]}")
        warn "${WARNINGS[-1]}"
    fi
    if ((reqs == 0)); then
        WARNINGS+=("$tag: wrk completed no request")
    fi
    local -a cs ce ls le
    read -r -a cs <<<"$c0"
    read -r -a ce <<<"$c1"
    read -r -a ls <<<"$l0"
    read -r -a le <<<"$l1"
    local cpu_us cpu_s be_us sirq_us pbusy lbusy steal other core_us
    read -r cpu_us cpu_s be_us sirq_us pbusy lbusy steal other core_us < <(
        awk -v r="$reqs" -v hz="$CLK_TCK" -v p=$((p1 - p0)) -v b=$((b1 - b0)) -v k=$((k1 - k0)) \
            -v pb=$((ce[0] - cs[0])) -v pt=$((ce[1] - cs[1])) -v ps=$((ce[2] - cs[2])) \
            -v lb=$((le[0] - ls[0])) -v lt=$((le[1] - ls[1])) -v lsl=$((le[2] - ls[2])) 'BEGIN {
            per = (r > 0) ? 1e6 / hz / r : 0
            # /proc/stat counts in the same USER_HZ ticks as /proc/PID/stat
            other = (pt > 0) ? 100 * (pb - p) / pt : 0
            printf "%.2f %.2f %.2f %.2f %.0f %.0f %.1f %.0f %.2f\n", p * per, p / hz, b * per, k * per,
                (pt > 0 ? 100 * pb / pt : 0), (lt > 0 ? 100 * lb / lt : 0),
                (pt + lt > 0 ? 100 * (ps + lsl) / (pt + lt) : 0), (other > 0 ? other : 0), pb * per }')
    R_CPU_US[$key]=$cpu_us R_CPU_S[$key]=$cpu_s R_BE_US[$key]=$be_us R_SIRQ_US[$key]=$sirq_us
    R_PBUSY[$key]=$pbusy R_LBUSY[$key]=$lbusy R_STEAL[$key]=$steal R_OTHER[$key]=$other
    # shellcheck disable=SC2034 # read through a nameref in over_rounds
    R_CORE_US[$key]=$core_us
    local waited="n/a"
    if delayacct_on; then
        waited=$(awk -v w=$((w1 - w0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", (t > 0 ? 100 * w / t : 0) }')
    fi
    R_WAIT[$key]=$waited
    if [[ $waited != n/a ]]; then
        # precise: the proxy was runnable but its core was busy with something else
        if awk -v w="$waited" 'BEGIN { exit !(w >= 5) }'; then
            WARNINGS+=("$tag: the proxy waited for its core ${waited}% of the run (another workload on CPU $PROXY_CPU, maybe in a container ps cannot see): req/s and p99 of this row are not meaningful, CPU/req less so; rerun on a quiet machine")
            warn "${WARNINGS[-1]}"
        fi
    elif ((other >= 10)); then
        WARNINGS+=("$tag: ${other}% of CPU $PROXY_CPU's time was not charged to the proxy: another workload (maybe in a container ps cannot see) or kernel work done while the proxy slept (softirqs, deferred frees); if the former, req/s and p99 of this row are not meaningful (sysctl kernel.task_delayacct=1 tells the two apart)")
        warn "${WARNINGS[-1]}"
    fi
}

measure_idle() { # scenario proxy
    local sc=$1 px=$2
    local key="$sc|$px" line rss0 rss1 open
    local -a ppids client=(--port "${PROXY_PORT[$px]}")
    if [[ $sc == tlsidle ]]; then client=(--port "${PROXY_TLS_PORT[$px]}" --tls); fi
    ensure_alive "$px"
    if [[ -n ${PROXY_USED[$px]:-} ]]; then
        # measured on a fresh process, like the first idle scenario
        log "$sc via $px: restarting $px (fresh process)"
        restart_proxy "$px" "$PORTIER"
    fi
    PROXY_USED[$px]=1
    mapfile -t ppids < <(proc_tree "${PROXY_PID[$px]}")
    rss0=$(rss_kib "${ppids[@]}")
    log "$sc via $px: opening $IDLE_N keep-alive connections${client[2]:+ over TLS}"
    coproc IDLE { exec taskset -c "$LOAD_CPU" python3 "$PERF_DIR/idle_conns.py" "${client[@]}" -n "$IDLE_N" --hold 300; }
    # shellcheck disable=SC2153 # IDLE_PID is set by coproc
    local idle_pid=$IDLE_PID
    STARTED_PIDS+=("$idle_pid")
    local idle_in=${IDLE[1]} idle_out=${IDLE[0]}
    if ! read -r -t 240 -u "$idle_out" line; then
        die "$sc client did not report within 240 s against $px"
    fi
    # Every connection has had its complete response by now; let the proxy
    # finish whatever bookkeeping it does after writing it.
    sleep 1
    mapfile -t ppids < <(proc_tree "${PROXY_PID[$px]}")
    rss1=$(rss_kib "${ppids[@]}")
    echo check >&"$idle_in"
    read -r -t 30 -u "$idle_out" open || open="OPEN ?"
    echo quit >&"$idle_in"
    wait "$idle_pid" 2>/dev/null || true
    forget_pid "$idle_pid"
    ensure_alive "$px"
    local ok fail err
    ok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$line")
    fail=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$line")
    err=$(sed -n 's/.*first_error=//p' <<<"$line")
    R_RSS0[$key]=$rss0
    R_RSS1[$key]=$rss1
    R_IDLE_OK[$key]=${ok:-0}
    R_IDLE_OPEN[$key]=${open#OPEN }
    if [[ ${fail:-1} != 0 || ${open#OPEN } != "${ok:-0}" ]]; then
        WARNINGS+=("$sc via $px: opened ${ok:-0}/$IDLE_N, failed ${fail:-?}, still open at measurement ${open#OPEN } (first error: $err)")
        warn "${WARNINGS[-1]}"
    fi
    # Let the proxy see the closes before the next proxy is measured.
    sleep 1
}

for ((round = 1; round <= REPEAT; round++)); do
    for sc in "${SCEN[@]}"; do
        # idle and tlsidle are measured once, in the first round, on fresh processes
        if is_idle "$sc" && ((round > 1)); then continue; fi
        for px in "${PROXIES[@]}"; do
            if is_idle "$sc"; then measure_idle "$sc" "$px"; else measure_load "$sc" "$px" "$round"; fi
        done
    done
done

# nginx (proxy) spills responses to proxy_temp files when its buffers fill:
# that is disk I/O inside the measured CPU, worth knowing when reading 1m.
NGINX_SPILLS=0
if [[ -n ${PROXY_LOG[nginx]:-} && -f ${PROXY_LOG[nginx]} ]]; then
    NGINX_SPILLS=$(grep -c 'buffered to a temporary file' "${PROXY_LOG[nginx]}" || true)
fi

# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

median() { # values... -> median ("0" when none)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print 0; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# over_rounds ARRAYNAME scenario proxy -> the values of all rounds
over_rounds() {
    local -n arr=$1
    local r
    for ((r = 1; r <= REPEAT; r++)); do echo "${arr["$2|$3|$r"]:-0}"; done
}

spread() { # values... -> " (min–max)" when more than one round
    ((REPEAT > 1)) || return 0
    printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf " (%s–%s)", lo, hi }'
}

pct() { if [[ $1 == n/a ]]; then echo n/a; else echo "$1%"; fi; }

ratio() { # value reference
    awk -v v="$1" -v r="$2" 'BEGIN { if (r > 0 && v > 0) printf "%.2fx", v / r; else printf "n/a" }'
}

report() {
    local portier_ver="(not measured)"
    if [[ -n $PORTIER ]]; then
        portier_ver="$(git -C "$REPO_DIR" describe --always --dirty --tags 2>/dev/null || echo 'no git commit yet')"
        portier_ver+=", binary $PORTIER built $(date -r "$PORTIER" '+%Y-%m-%d %H:%M:%S')"
    fi
    echo "# portier load comparison — $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo
    echo "Command: \`$CMDLINE\`"
    echo
    echo "- portier: $portier_ver"
    echo "- $(nginx -v 2>&1)"
    local v
    v=$(haproxy -v 2>/dev/null || echo 'haproxy: not installed')
    echo "- ${v%%$'\n'*}"
    v=$(wrk -v 2>&1 || true)
    echo "- ${v%%$'\n'*}"
    echo "- kernel: $(uname -srm); $(nproc) CPUs: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- kernel settings (perf/sysctl.conf is not applied by this script; as root: sysctl -p perf/sysctl.conf): somaxconn $(cat /proc/sys/net/core/somaxconn), ip_local_port_range $(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range), tcp_tw_reuse $(cat /proc/sys/net/ipv4/tcp_tw_reuse), open files $NOFILE"
    echo "- pinning: proxy on CPU $PROXY_CPU; backend nginx and wrk on CPU $LOAD_CPU; duration ${DUR_S}s (warm-up ${WARM_S}s) x $REPEAT round(s); 100b/tls100b: $CONNS connections, 1m/tls1m: $LARGE_CONNS connections; CLK_TCK $CLK_TCK"
    if ((TLS_ON)); then
        local neg="" p
        for p in "${PROXIES[@]}"; do neg+="${neg:+; }$p ${PROXY_TLS_INFO[$p]:-?}"; done
        echo "- TLS scenarios: one self-signed ECDSA P-256 certificate (localhost) for all proxies, checked by fingerprint; TLS 1.2 and 1.3 enabled, no session tickets; HTTP/1.1 keep-alive (handshakes only when wrk connects, in the warm-up). Negotiated with OpenSSL's client defaults (wrk's; OpenSSL $(openssl version | awk '{ print $2 }')): $neg"
        if ((SAME_CIPHER)); then
            echo "- --same-cipher: nginx and haproxy configured to prefer $SAME_CIPHER_SUITES (server order), portier's own order"
        fi
    fi
    echo

    local sc px key ref
    local has_load=0 has_idle=0
    for sc in "${SCEN[@]}"; do
        if is_idle "$sc"; then has_idle=1; else has_load=1; fi
    done
    if ((has_load)); then
        if ((REPEAT > 1)); then
            echo "Medians of $REPEAT rounds (min–max of the rounds in brackets); errors are the total of all rounds."
            echo
        fi
        echo "| scenario | proxy | req/s | p99 | errors | proxy CPU µs/req | ratio to nginx (CPU/req) |"
        echo "|---|---|---:|---:|---:|---:|---:|"
        local -a rps p99 cpu errs core cross=()
        local refcore rc_cpu rc_core
        for sc in "${SCEN[@]}"; do
            ! is_idle "$sc" || continue
            ref=0 refcore=0
            if [[ -n ${PROXY_PID[nginx]:-} ]]; then
                mapfile -t cpu < <(over_rounds R_CPU_US "$sc" nginx)
                ref=$(median "${cpu[@]}")
                mapfile -t core < <(over_rounds R_CORE_US "$sc" nginx)
                refcore=$(median "${core[@]}")
            fi
            for px in "${PROXIES[@]}"; do
                mapfile -t rps < <(over_rounds R_RPS "$sc" "$px")
                mapfile -t p99 < <(over_rounds R_P99 "$sc" "$px")
                mapfile -t cpu < <(over_rounds R_CPU_US "$sc" "$px")
                mapfile -t errs < <(over_rounds R_ERR "$sc" "$px")
                local err=0 e med
                for e in "${errs[@]}"; do err=$((err + e)); done
                if ((err > 0)); then err="**$err ⚠**"; fi
                med=$(median "${cpu[@]}")
                printf '| %s | %s | %.0f | %.2f ms | %s | %.2f%s | %s |\n' "$sc" "$px" "$(median "${rps[@]}")" \
                    "$(median "${p99[@]}")" "$err" "$med" "$(spread "${cpu[@]}")" "$(ratio "$med" "$ref")"
                mapfile -t core < <(over_rounds R_CORE_US "$sc" "$px")
                rc_cpu=$(ratio "$med" "$ref")
                rc_core=$(ratio "$(median "${core[@]}")" "$refcore")
                if [[ $px != nginx && $rc_cpu != n/a && $rc_core != n/a ]] &&
                    awk -v a="${rc_cpu%x}" -v b="${rc_core%x}" 'BEGIN { exit !(a - b > 0.1 || b - a > 0.1) }'; then
                    cross+=("$sc, $px: $rc_cpu by the proxy's own CPU time, $rc_core by CPU $PROXY_CPU's busy time per request")
                fi
            done
        done
        echo
        if ((${#cross[@]})); then
            echo "Cross-check — the two ways of counting disagree by more than 0.1 here. The proxy's own CPU time misses kernel work done on its core while it sleeps (softirqs, deferred frees of its packets: the idler the proxy, the more is missed); the core's busy time also counts any other workload on that core. The truth lies between:"
            echo
            local c
            for c in "${cross[@]}"; do echo "- $c"; done
            echo
        fi
    fi
    if ((has_idle)); then
        echo "Memory per idle keep-alive connection ($IDLE_N connections, one completed GET /100b each, then held; tlsidle: the same over TLS, each after a full handshake; each scenario on freshly started proxies):"
        echo
        echo "| scenario | proxy | connections held | RSS before (KiB) | RSS held (KiB) | KiB/conn | ratio to nginx |"
        echo "|---|---|---:|---:|---:|---:|---:|"
        local refk
        for sc in "${SCEN[@]}"; do
            is_idle "$sc" || continue
            refk=$(awk -v a="${R_RSS0["$sc|nginx"]:-0}" -v b="${R_RSS1["$sc|nginx"]:-0}" -v n="${R_IDLE_OK["$sc|nginx"]:-0}" \
                'BEGIN { if (n > 0) printf "%.3f", (b - a) / n; else print 0 }')
            for px in "${PROXIES[@]}"; do
                key="$sc|$px"
                local per held
                per=$(awk -v a="${R_RSS0[$key]}" -v b="${R_RSS1[$key]}" -v n="${R_IDLE_OK[$key]}" \
                    'BEGIN { if (n > 0) printf "%.3f", (b - a) / n; else print "n/a" }')
                held="${R_IDLE_OPEN[$key]}/$IDLE_N"
                if [[ ${R_IDLE_OPEN[$key]} != "$IDLE_N" ]]; then held="**$held ⚠**"; fi
                printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$sc" "$px" "$held" "${R_RSS0[$key]}" "${R_RSS1[$key]}" \
                    "$per" "$(ratio "$per" "$refk")"
            done
        done
        echo
    fi
    if ((${#WARNINGS[@]})); then
        echo "**WARNINGS — the rows named here are suspect:**"
        echo
        local w
        for w in "${WARNINGS[@]}"; do echo "- ⚠ $w"; done
        echo
    fi
    if ((has_load)); then
        echo "Details (same runs):"
        echo
        echo "| round | scenario | proxy | req/s | p99 | proxy CPU µs/req | proxy core busy µs/req | requests | proxy CPU s | proxy core busy | of which not the proxy | proxy waited for its core | load core busy | steal | backend CPU µs/req | ksoftirqd µs/req |"
        echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        local r
        for ((r = 1; r <= REPEAT; r++)); do
            for sc in "${SCEN[@]}"; do
                ! is_idle "$sc" || continue
                for px in "${PROXIES[@]}"; do
                    key="$sc|$px|$r"
                    printf '| %s | %s | %s | %.0f | %.2f ms | %s | %s | %s | %s | %s%% | %s%% | %s | %s%% | %s%% | %s | %s |\n' \
                        "$r" "$sc" "$px" "${R_RPS[$key]}" "${R_P99[$key]}" "${R_CPU_US[$key]}" "${R_CORE_US[$key]}" "${R_REQS[$key]}" \
                        "${R_CPU_S[$key]}" "${R_PBUSY[$key]}" "${R_OTHER[$key]}" "$(pct "${R_WAIT[$key]}")" "${R_LBUSY[$key]}" "${R_STEAL[$key]}" \
                        "${R_BE_US[$key]}" "${R_SIRQ_US[$key]}"
                done
            done
        done
        echo
        echo "CPU used in each measured window by the processes visible here (ticks of 1/$CLK_TCK s; wrk is not listed):"
        echo
        for ((r = 1; r <= REPEAT; r++)); do
            for sc in "${SCEN[@]}"; do
                ! is_idle "$sc" || continue
                for px in "${PROXIES[@]}"; do
                    echo "- round $r, $sc via $px: ${R_TOP["$sc|$px|$r"]}"
                done
            done
        done
        echo
    fi
    echo "Notes:"
    echo
    echo "- CPU µs/req = (utime+stime of all the proxy's processes and threads over the measured wrk run) / requests completed; nginx and haproxy include master and workers. Quote the ratio, not the absolute figure."
    echo "- req/s and p99 depend on CPU $LOAD_CPU (wrk + backend) as much as on the proxy: see 'load core busy'. A non-zero 'steal' means a noisy host."
    if ((NGINX_SPILLS > 0)); then
        echo "- nginx (proxy) buffered $NGINX_SPILLS responses to temporary files on disk (proxy_buffering on, default buffers): its 1m/tls1m figures include that disk I/O."
    fi
}

mkdir -p "$OUT_DIR"
OUT_FILE="$OUT_DIR/load-$(date +%Y%m%d-%H%M%S).md"
report | tee "$OUT_FILE"
log "report written to $OUT_FILE"
