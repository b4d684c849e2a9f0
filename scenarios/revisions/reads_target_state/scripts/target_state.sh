#!/bin/sh
# Reads autoscaling/target-lifecycle-state from the instance metadata service (IMDSv2) and fails
# unless it is what this lifecycle event expects: Terminated in BeforeBlockTraffic (which only a
# termination deployment runs here: the instance is being terminated); otherwise InService, or
# Standby for an instance an operator keeps in Standby (CodeDeploy deploys to it there).
set -eu
imds=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254/}
imds=${imds%/}
token=$(curl -fsS -X PUT "$imds/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
state=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/autoscaling/target-lifecycle-state")
case "$LIFECYCLE_EVENT" in
    BeforeBlockTraffic) want="Terminated" ;;
    *) want="InService Standby" ;;
esac
echo "target-lifecycle-state: $state (expected one of: $want, in $LIFECYCLE_EVENT)"
for w in $want; do
    [ "$state" = "$w" ] && exit 0
done
exit 1
