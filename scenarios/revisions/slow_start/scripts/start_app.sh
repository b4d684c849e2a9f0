#!/bin/sh
# Starts the sample app, which then takes 45 seconds to warm up before it answers (a JVM, a cache
# to fill). In a rehearsal the marker file says so: `warmup=SECONDS`.
set -eu
mkdir -p "${APP_STATE_DIR:-/var/run/sample-app}"
echo "warmup=45" > "${APP_STATE_DIR:-/var/run/sample-app}/app.running"
