#!/bin/sh
# Stops the sample app. On a real host this would be `systemctl stop httpd`; in a rehearsal the
# app's state is a marker file the simulated agent turns into health-check answers.
set -eu
rm -f "${APP_STATE_DIR:-/var/run/sample-app}/app.running"
