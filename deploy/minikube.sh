#!/usr/bin/env bash
# minikube: start (or reuse) a profile with room for the HPA's pods, enable metrics-server,
# build the image and load it with `minikube image load`, deploy, wait for the rollout and the
# HPA's first metric, run `scaleproof doctor`, and print the run to make. The load goes to the
# Service's node port on `minikube ip` (for a load balancer address instead, run
# `minikube tunnel` in another terminal).
#   PROFILE=scaleproof NAMESPACE=default TAG=0.1.0 deploy/minikube.sh
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
PROFILE="${PROFILE:-scaleproof}"
need minikube kubectl docker

if minikube status -p "$PROFILE" >/dev/null 2>&1; then
  say "reusing minikube profile $PROFILE"
else
  run minikube start -p "$PROFILE" --cpus 4 --memory 8g
fi
run kubectl config use-context "$PROFILE"
run minikube addons enable metrics-server -p "$PROFILE"

run docker build -f "$ROOT/target-service/Dockerfile" -t "target-service:$TAG" "$ROOT"
run minikube image load "target-service:$TAG" -p "$PROFILE"
apply_with_image target-service "$TAG"
wait_rollout
wait_hpa_metric

node_port="$(kubectl get service target-service -n "$NAMESPACE" -o jsonpath='{.spec.ports[0].nodePort}')"
host="http://$(minikube ip -p "$PROFILE"):$node_port"
doctor "$host"
finish "$host" "minikube delete -p $PROFILE"
