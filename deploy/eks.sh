#!/usr/bin/env bash
# EKS: reuse an existing cluster (creating one needs a VPC and IAM roles: `eksctl create
# cluster --name NAME --region REGION --nodes 2 --node-type m5.xlarge` does it), install
# metrics-server, create (or reuse) an ECR repository, log docker in to ECR, build the image
# for linux/amd64 (also from Apple Silicon) and push it, deploy behind a LoadBalancer (an ELB:
# its address is a hostname), wait for the rollout, the address and the HPA's first metric,
# run `scaleproof doctor`, and print the run to make and the clean-up.
#   CLUSTER=scaleproof-demo REGION=eu-west-1 deploy/eks.sh
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
need aws kubectl docker
CLUSTER="${CLUSTER:-scaleproof-demo}"
REGION="${REGION:-eu-west-1}"

aws eks describe-cluster --name "$CLUSTER" --region "$REGION" >/dev/null 2>&1 ||
  die "no EKS cluster $CLUSTER in $REGION: create it with 'eksctl create cluster --name $CLUSTER --region $REGION --nodes 2 --node-type m5.xlarge'"
run aws eks update-kubeconfig --name "$CLUSTER" --region "$REGION"
run kubectl apply -f "$METRICS_SERVER_URL"

account="$(aws sts get-caller-identity --query Account --output text)"
registry="$account.dkr.ecr.$REGION.amazonaws.com"
IMAGE="$registry/target-service"
if ! aws ecr describe-repositories --repository-names target-service --region "$REGION" >/dev/null 2>&1; then
  run aws ecr create-repository --repository-name target-service --region "$REGION"
fi
say "logging docker in to $registry"
aws ecr get-login-password --region "$REGION" | run docker login --username AWS --password-stdin "$registry"
push_and_deploy "$IMAGE"
host="http://$(wait_lb_address):8080"
doctor "$host"
finish "$host" "kubectl delete -k $ROOT/deploy/.overlay && aws ecr delete-repository --repository-name target-service --region $REGION --force"
