#!/bin/sh
# Starts the app (it takes 20 s to warm up) and waits until it answers on its own port, as a start
# script that polls its app's health does. $PORT is the instance's application port; `sleep` runs
# on the simulated clock.
set -eu
mkdir -p "$APP_STATE_DIR"
echo "warmup=20" > "$APP_STATE_DIR/app.running"
tries=0
while [ "$tries" -lt 30 ]; do
    tries=$((tries + 1))
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/"; then
        echo "the app answers on port $PORT after $tries tries"
        exit 0
    fi
    sleep 5
done
echo "the app did not answer on port $PORT" >&2
exit 1
