# Shared by the deploy scripts (sourced, not run). Every command that changes something is
# printed before it runs, so a user can repeat or undo any step by hand.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAMESPACE="${NAMESPACE:-default}"
# The image tag: pinned, never `latest` (which pulls Always and misses images loaded into
# kind/minikube).
TAG="${TAG:-0.1.0}"
# How long to wait for a rollout, a load balancer address and the HPA's first metric.
WAIT_S="${WAIT_S:-300}"
# Used by the platform scripts that source this file.
export METRICS_SERVER_URL="https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml"

say() { printf '==> %s\n' "$*" >&2; }
run() { printf '+ %s\n' "$*" >&2; "$@"; }
die() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "needs $tool on PATH"
  done
}

# Applies the target-service manifests (base or an overlay of it) with IMAGE:TAG, through a
# generated overlay that plain `kubectl apply -k` builds: no kustomize binary, no edits to the
# repository's files.
apply_with_image() {
  local image="$1" tag="$2" base="${3:-target-service/k8s/overlays/loadbalancer}"
  mkdir -p "$ROOT/deploy/.overlay"
  cat >"$ROOT/deploy/.overlay/kustomization.yaml" <<YAML
resources:
  - ../../$base
images:
  - name: target-service
    newName: $image
    newTag: "$tag"
YAML
  run kubectl apply -n "$NAMESPACE" -k "$ROOT/deploy/.overlay"
}

wait_rollout() {
  run kubectl rollout status -n "$NAMESPACE" deployment/target-service --timeout="${WAIT_S}s"
}

# Waits until the HPA reports a CPU utilisation: metrics-server works and the pods have CPU
# requests. Without it the HPA never scales, and the run would show nothing.
wait_hpa_metric() {
  local i value
  say "waiting for the HPA's first CPU reading (metrics-server scrapes every 15 s)"
  for ((i = 0; i < WAIT_S / 5; i++)); do
    value="$(kubectl get hpa target-service -n "$NAMESPACE" \
      -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}' 2>/dev/null || true)"
    if [ -n "$value" ]; then
      say "HPA reads ${value}% CPU"
      return 0
    fi
    sleep 5
  done
  die "the HPA has no CPU metric after ${WAIT_S}s: check 'kubectl describe hpa target-service' and metrics-server"
}

# For a cloud cluster: builds the image for linux/amd64 (nodes are amd64, also when building
# on Apple Silicon), pushes IMAGE:TAG, deploys it behind a LoadBalancer, and waits for the
# rollout and the HPA's first CPU reading.
push_and_deploy() {
  local image="$1"
  run docker build --platform linux/amd64 -f "$ROOT/target-service/Dockerfile" -t "$image:$TAG" "$ROOT"
  run docker push "$image:$TAG"
  apply_with_image "$image" "$TAG"
  wait_rollout
  wait_hpa_metric
}

# Waits for the Service's load balancer address (IP or hostname) and prints it.
wait_lb_address() {
  local i address
  for ((i = 0; i < WAIT_S / 5; i++)); do
    address="$(kubectl get service target-service -n "$NAMESPACE" \
      -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}' 2>/dev/null || true)"
    if [ -n "$address" ]; then
      printf '%s\n' "$address"
      return 0
    fi
    sleep 5
  done
  die "the Service got no load balancer address after ${WAIT_S}s"
}

# The scaleproof command: the one on PATH, else this checkout's.
scaleproof() {
  if command -v scaleproof >/dev/null 2>&1; then
    command scaleproof "$@"
  else
    (cd "$ROOT" && cargo run --release --quiet -- "$@")
  fi
}

# Runs `scaleproof doctor` against the deployment and host; its failures stop the script.
doctor() {
  local host="$1"
  say "checking what would spoil the evidence"
  run scaleproof doctor --deployment target-service --namespace "$NAMESPACE" --service target-service \
    --host "$host" --scenario "$ROOT/scenarios/ramp-1k.toml"
}

# Prints the run to make and how to remove everything again.
finish() {
  local host="$1" cleanup="$2"
  cat <<TEXT

Ready. Record the scale-out with:

  scaleproof --host $host --deployment target-service --namespace $NAMESPACE --service target-service \\
    --scenario scenarios/ramp-1k.toml

Clean up with:

  $cleanup
TEXT
}
