#!/bin/sh
# Stops the app gracefully: it gets 20 s to finish what it is doing first (in a rehearsal the
# sleep is simulated time), then the marker file the simulated agent reads goes.
set -eu
sleep 20
rm -f "${APP_STATE_DIR:-/var/run/sample-app}/app.running"
