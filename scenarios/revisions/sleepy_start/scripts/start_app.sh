#!/bin/sh
# Starts the sample app after a 40-second pause (a cache to warm, a JVM to start). In a rehearsal
# the runner's `sleep` sleeps on the simulated clock: 40 simulated seconds, no real ones.
set -eu
sleep 40
mkdir -p "${APP_STATE_DIR:-/var/run/sample-app}"
touch "${APP_STATE_DIR:-/var/run/sample-app}/app.running"
