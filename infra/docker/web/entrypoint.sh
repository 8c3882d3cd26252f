#!/bin/bash
# Render the nginx config from the environment, run nginx in the foreground,
# and keep its upstream blocks equal to what the service names resolve to.
#   PARLEY_UPSTREAM_DOMAIN appended to upstream host names without a dot
#                          (Kubernetes: "$(POD_NAMESPACE).svc.cluster.local")
#   PARLEY_{AUTH,COMMAND,READ,PUSHER,MEDIA}_UPSTREAM  host:port (default auth:8081,
#                          command:8082, read:8083, pusher:8084, media:8086)
#   PARLEY_DNS_REFRESH     seconds between look-ups (5; 0 = only at start)
#   PARLEY_WEB_PORT        listen port (8080); PARLEY_NGINX_WORKERS (1)
# Signals: SIGQUIT (the image's STOPSIGNAL) = graceful, SIGTERM/SIGINT = fast.
set -euo pipefail
conf=/tmp/nginx/nginx.conf
ups=/tmp/nginx/upstreams.conf
mkdir -p /tmp/nginx

target() { # host:port, with the domain appended to a bare host
    local v=$1 host=${1%:*} port=${1##*:}
    case $host in
        *.*) ;;
        *) [ -n "${PARLEY_UPSTREAM_DOMAIN:-}" ] && v="$host.$PARLEY_UPSTREAM_DOMAIN:$port" ;;
    esac
    echo "$v"
}
declare -A want=(
    [parley_auth]=$(target "${PARLEY_AUTH_UPSTREAM:-auth:8081}")
    [parley_command]=$(target "${PARLEY_COMMAND_UPSTREAM:-command:8082}")
    [parley_read]=$(target "${PARLEY_READ_UPSTREAM:-read:8083}")
    [parley_pusher]=$(target "${PARLEY_PUSHER_UPSTREAM:-pusher:8084}")
    [parley_media]=$(target "${PARLEY_MEDIA_UPSTREAM:-media:8086}")
)

upstreams() { # one upstream block per service, every address the name has
    local name t host port addrs
    for name in parley_auth parley_command parley_read parley_pusher parley_media; do
        t=${want[$name]} host=${t%:*} port=${t##*:}
        addrs=$(getent ahostsv4 "$host" 2>/dev/null | awk '{print $1}' | sort -u || true)
        echo "upstream $name {"
        if [ -z "$addrs" ]; then
            # Not resolvable (yet): answer 503 until it is.
            echo "    server 127.0.0.1:9 down;"
        else
            for a in $addrs; do echo "    server $a:$port max_fails=1 fail_timeout=2s;"; done
        fi
        echo "    keepalive 16;"
        echo "}"
    done
}

sed -e "s|@PORT@|${PARLEY_WEB_PORT:-8080}|g" -e "s|@WORKERS@|${PARLEY_NGINX_WORKERS:-1}|g" \
    /etc/parley/nginx.conf.template > "$conf"
if grep -q '@[A-Z_]*@' "$conf"; then echo "web: unrendered placeholders in $conf" >&2; exit 1; fi
upstreams > "$ups"
nginx -t -q -c "$conf"
echo "web: upstreams $(for n in "${!want[@]}"; do printf '%s=%s ' "$n" "${want[$n]}"; done)"

nginx -c "$conf" -g 'daemon off;' &
nginx_pid=$!
trap 'kill -QUIT $nginx_pid 2>/dev/null || true' QUIT
trap 'kill -TERM $nginx_pid 2>/dev/null || true' TERM INT

refresh=${PARLEY_DNS_REFRESH:-5}
if [ "$refresh" != 0 ]; then
    (
        trap - QUIT TERM INT
        while sleep "$refresh"; do
            new=$(upstreams)
            if [ "$new" != "$(cat "$ups")" ]; then
                printf '%s\n' "$new" > "$ups.new" && mv "$ups.new" "$ups"
                echo "web: upstream addresses changed, reloading: $(grep -c 'server ' "$ups") servers"
                nginx -s reload -c "$conf" || true
            fi
        done
    ) &
    watcher=$!
fi
rc=0
while kill -0 $nginx_pid 2>/dev/null; do wait $nginx_pid && rc=0 || rc=$?; done
[ -n "${watcher:-}" ] && kill "$watcher" 2>/dev/null || true
exit $rc
