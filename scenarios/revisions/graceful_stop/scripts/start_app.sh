#!/bin/sh
# Starts the sample app (see stop_app.sh).
set -eu
mkdir -p "${APP_STATE_DIR:-/var/run/sample-app}"
touch "${APP_STATE_DIR:-/var/run/sample-app}/app.running"
