#!/bin/sh
# Saves what `rehearse import` reads about one CodeDeploy deployment group, from your account,
# with read-only AWS CLI calls only (get-*, describe-*). Usage:
#   scenarios/import/aws-read.sh APPLICATION DEPLOYMENT_GROUP [FOLDER]
# then: rehearse import FOLDER --out my-rehearsal
set -eu
app=$1
dg=$2
out=${3:-aws-json}
mkdir -p "$out"

aws deploy get-deployment-group --application-name "$app" --deployment-group-name "$dg" --output json \
    > "$out/get-deployment-group.json"
config=$(aws deploy get-deployment-group --application-name "$app" --deployment-group-name "$dg" \
    --query 'deploymentGroupInfo.deploymentConfigName' --output text)
aws deploy get-deployment-config --deployment-config-name "$config" --output json > "$out/get-deployment-config.json"

groups=$(aws deploy get-deployment-group --application-name "$app" --deployment-group-name "$dg" \
    --query 'deploymentGroupInfo.autoScalingGroups[].name' --output text)
[ -n "$groups" ] || { echo "aws-read.sh: $dg has no Auto Scaling group" >&2; exit 2; }
# shellcheck disable=SC2086 # one argument per group name
aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names $groups --output json \
    > "$out/describe-auto-scaling-groups.json"
for g in $groups; do
    aws autoscaling describe-lifecycle-hooks --auto-scaling-group-name "$g" --output json \
        > "$out/describe-lifecycle-hooks-$g.json"
    aws autoscaling describe-policies --auto-scaling-group-name "$g" --output json > "$out/describe-policies-$g.json"
done

# shellcheck disable=SC2086
tgs=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names $groups \
    --query 'AutoScalingGroups[].TargetGroupARNs[]' --output text)
if [ -n "$tgs" ] && [ "$tgs" != "None" ]; then
    # shellcheck disable=SC2086
    aws elbv2 describe-target-groups --target-group-arns $tgs --output json > "$out/describe-target-groups.json"
    for arn in $tgs; do
        name=$(echo "$arn" | cut -d/ -f2)
        aws elbv2 describe-target-group-attributes --target-group-arn "$arn" --output json \
            > "$out/describe-target-group-attributes-$name.json"
    done
    # shellcheck disable=SC2086
    lbs=$(aws elbv2 describe-target-groups --target-group-arns $tgs \
        --query 'TargetGroups[].LoadBalancerArns[]' --output text | tr '\t' '\n' | sort -u)
    if [ -n "$lbs" ]; then
        # shellcheck disable=SC2086
        aws elbv2 describe-load-balancers --load-balancer-arns $lbs --output json > "$out/describe-load-balancers.json"
        for lb in $lbs; do
            name=$(echo "$lb" | cut -d/ -f3)
            aws elbv2 describe-listeners --load-balancer-arn "$lb" --output json > "$out/describe-listeners-$name.json"
            for listener in $(aws elbv2 describe-listeners --load-balancer-arn "$lb" \
                --query 'Listeners[].[ListenerArn,Port]' --output text | tr '\t' ','); do
                arn=${listener%,*}
                port=${listener#*,}
                aws elbv2 describe-rules --listener-arn "$arn" --output json > "$out/describe-rules-$name-$port.json"
            done
        done
    fi
fi

# shellcheck disable=SC2086
classic=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names $groups \
    --query 'AutoScalingGroups[].LoadBalancerNames[]' --output text)
if [ -n "$classic" ] && [ "$classic" != "None" ]; then
    # shellcheck disable=SC2086
    aws elb describe-load-balancers --load-balancer-names $classic --output json > "$out/elb-describe-load-balancers.json"
    for name in $classic; do
        aws elb describe-load-balancer-attributes --load-balancer-name "$name" --output json \
            > "$out/elb-describe-load-balancer-attributes-$name.json"
    done
fi
echo "aws-read.sh: saved in $out; next: rehearse import $out --out DIR"
