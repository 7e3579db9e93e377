#!/usr/bin/env bash
# Runs testssl.sh against a portier TLS listener with an ECDSA and an RSA
# certificate (self-signed test certificates for "localhost") and a route
# that sets the usual security headers. Loopback only; bounded by testssl's
# own timeouts and `timeout`.
#
# usage: tests/tools/testssl.sh [path/to/portier]   (default target/release/portier)
# needs: apt-get install -y testssl.sh openssl
# prints testssl's findings of severity MEDIUM or higher, and the JSON path.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/portier}
[ -x "$bin" ] || { echo "no $bin: cargo build --release first" >&2; exit 2; }
command -v testssl >/dev/null || { echo "testssl missing: apt-get install -y testssl.sh" >&2; exit 2; }
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$dir/ecdsa.key" -out "$dir/ecdsa.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$dir/rsa.key" -out "$dir/rsa.pem" 2>/dev/null
port=$(free_port); echo_port=$(free_port)
cat > "$dir/portier.toml" <<TOML
[runtime]
workers = 1
[[listener]]
address = "127.0.0.1:$port"
[[listener.certificate]]
cert = "$dir/ecdsa.pem"
key = "$dir/ecdsa.key"
[[listener.certificate]]
cert = "$dir/rsa.pem"
key = "$dir/rsa.key"
[[upstream]]
name = "echo"
servers = ["127.0.0.1:$echo_port"]
[[route]]
upstream = "echo"
response_headers = { set = { "X-Content-Type-Options" = "nosniff", "X-Frame-Options" = "DENY", "Referrer-Policy" = "no-referrer", "Permissions-Policy" = "geolocation=()", "Content-Security-Policy" = "default-src 'none'" }, remove = ["Server", "X-Powered-By"] }
[echo_origin]
address = "127.0.0.1:$echo_port"
TOML
"$bin" --config "$dir/portier.toml" >"$dir/portier.out" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q "listening on" "$dir/portier.out" 2>/dev/null && break; sleep 0.1; done
out=${TESTSSL_JSON:-$PWD/testssl-out.json}
rm -f "$out"
timeout 900 testssl --quiet --warnings off --severity MEDIUM --jsonfile "$out" "https://localhost:$port" >"$dir/testssl.txt" 2>&1 || true
python3 - "$out" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))
bad = [i for i in items if i.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
other = [i for i in bad if not i["id"].startswith("cert_")]
print(f"testssl findings MEDIUM or higher: {len(bad)} ({len(bad) - len(other)} about the test certificates, ids cert_*)")
for i in bad:
    print(f'  {i["severity"]:8} {i["id"]}: {i["finding"]}')
print("findings other than cert_*:", len(other))
sys.exit(1 if other else 0)
PY
