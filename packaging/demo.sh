#!/usr/bin/env bash
# The quick start: installs what is missing, builds, and shows the whole path on this machine:
#   user request -> tunnel-runner (runner emulator) -> WebSocket -> tunnel-client -> service
# The "container's service" is a small web server on 127.0.0.1; the request goes to the
# runner's forwarded port and the answer comes back through the tunnel; the demo fails unless it is
# the service's page. DEMO_CLIENT runs another tunnel-client instead of the release build's, for
# example the arm64 one under qemu-user:
#   DEMO_CLIENT="qemu-aarch64-static ./tunnel-client" packaging/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runner_port="${DEMO_RUNNER_PORT:-18001}"    # tunnel WebSocket (the runner)
service_port="${DEMO_SERVICE_PORT:-18080}"  # the service inside the "container"
forward_port="${DEMO_FORWARD_PORT:-18081}"  # what a user connects to

bash packaging/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
bin=build/release
read -r -a client <<<"${DEMO_CLIENT:-$bin/tunnel-client}"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# 1. The service inside the container.
mkdir -p "$work/site"
page="Hello from the service inside the container, reached through tunnel-client."
echo "$page" > "$work/site/index.html"
python3 -m http.server "$service_port" --bind 127.0.0.1 --directory "$work/site" >"$work/service.log" 2>&1 &
pids+=($!)

wait_for_port() {  # wait_for_port PORT SECONDS
    python3 - "$1" "$2" <<'PY'
import socket, sys, time
deadline = time.time() + float(sys.argv[2])
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(f"demo: nothing listens on 127.0.0.1:{sys.argv[1]}")
        time.sleep(0.05)
PY
}
wait_for_port "$service_port" 10

# 2. The runner, forwarding $forward_port to the container "demo", port $service_port.
"$bin/tunnel-runner" --listen "127.0.0.1:$runner_port" --forward "$forward_port:demo:$service_port" \
    >"$work/runner.log" 2>&1 &
pids+=($!)

# 3. tunnel-client, as the runner starts it in a container.
wait_for() {  # wait_for FILE TEXT SECONDS
    for _ in $(seq 1 $(( $3 * 20 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}
wait_for "$work/runner.log" "runner: listening" 10
"${client[@]}" --runner-url "ws://127.0.0.1:$runner_port" --container-id demo --log-level info \
    >"$work/client.log" 2>&1 &
pids+=($!)
wait_for "$work/client.log" "tunnel up" 10

# 4. A user request through the tunnel.
echo
echo "== GET http://127.0.0.1:$forward_port/ (forwarded by the runner into container 'demo', port $service_port)"
python3 - "$forward_port" "$page" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=10) as r:
    body = r.read().decode().strip()
    print(f"HTTP {r.status}: {body}")
if body != sys.argv[2]:
    sys.exit("demo: the answer is not the service's page")
PY
echo
echo "== tunnel-client log"
cat "$work/client.log"
