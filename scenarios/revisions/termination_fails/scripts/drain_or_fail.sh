#!/bin/sh
# A termination deployment's graceful shutdown that fails: it hands its work to a queue that is
# down and exits 1. It runs only in termination deployments (BeforeBlockTraffic, and the
# deployment group does no traffic control of its own).
echo "drain: the work queue does not answer; giving up" >&2
exit 1
