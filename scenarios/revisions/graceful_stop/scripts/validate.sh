#!/bin/sh
# Validates the sample app: it must be running.
set -eu
test -e "${APP_STATE_DIR:-/var/run/sample-app}/app.running"
