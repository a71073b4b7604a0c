#!/usr/bin/env bash
# kind: create (or reuse) a local cluster, install metrics-server (with --kubelet-insecure-tls:
# kind's kubelets have self-signed certificates), build the image and load it into the
# nodes, deploy, wait for the rollout and the HPA's first metric, run `scaleproof doctor`, and
# print the run to make. The Service is a LoadBalancer; kind gives it no external address, so
# the load goes to its node port on the node's address (reachable from a Linux host; on macOS
# or Windows run scaleproof in the cluster: target-service/k8s/examples/scaleproof-job.yaml).
#   CLUSTER=scaleproof NAMESPACE=default TAG=0.1.0 deploy/kind.sh
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
CLUSTER="${CLUSTER:-scaleproof}"
need kind kubectl docker

if kind get clusters | grep -qx "$CLUSTER"; then
  say "reusing kind cluster $CLUSTER"
else
  run kind create cluster --name "$CLUSTER"
fi
run kubectl config use-context "kind-$CLUSTER"

run kubectl apply -f "$METRICS_SERVER_URL"
run kubectl -n kube-system patch deployment metrics-server --type=json \
  -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'

run docker build -f "$ROOT/target-service/Dockerfile" -t "target-service:$TAG" "$ROOT"
run kind load docker-image "target-service:$TAG" --name "$CLUSTER"
apply_with_image target-service "$TAG"
wait_rollout
wait_hpa_metric

node_ip="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
node_port="$(kubectl get service target-service -n "$NAMESPACE" -o jsonpath='{.spec.ports[0].nodePort}')"
host="http://$node_ip:$node_port"
doctor "$host"
finish "$host" "kind delete cluster --name $CLUSTER"
