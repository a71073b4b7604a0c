#!/usr/bin/env bash
# GKE: enable the APIs, create (or reuse) an Artifact Registry repository and a cluster whose
# nodes fit the HPA's 12 pods (2 × e2-standard-4), build the image for linux/amd64 (also from
# Apple Silicon) and push it, deploy behind a LoadBalancer, wait for the rollout, the address
# and the HPA's first metric (metrics-server is built in), run `scaleproof doctor`, and print
# the run to make and how to delete it all.
#   PROJECT=my-project REGION=europe-west1 CLUSTER=scaleproof-demo deploy/gke.sh
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
need gcloud kubectl docker
PROJECT="${PROJECT:-$(gcloud config get-value project 2>/dev/null)}"
[ -n "$PROJECT" ] || die "set PROJECT or 'gcloud config set project ID'"
REGION="${REGION:-europe-west1}"
ZONE="${ZONE:-$REGION-b}"
CLUSTER="${CLUSTER:-scaleproof-demo}"
REPOSITORY="${REPOSITORY:-scaleproof}"
IMAGE="$REGION-docker.pkg.dev/$PROJECT/$REPOSITORY/target-service"

run gcloud services enable artifactregistry.googleapis.com container.googleapis.com --project "$PROJECT"
if ! gcloud artifacts repositories describe "$REPOSITORY" --location "$REGION" --project "$PROJECT" >/dev/null 2>&1; then
  run gcloud artifacts repositories create "$REPOSITORY" --repository-format=docker \
    --location "$REGION" --project "$PROJECT"
fi
if gcloud container clusters describe "$CLUSTER" --zone "$ZONE" --project "$PROJECT" >/dev/null 2>&1; then
  say "reusing GKE cluster $CLUSTER"
else
  run gcloud container clusters create "$CLUSTER" --zone "$ZONE" --project "$PROJECT" \
    --num-nodes 2 --machine-type e2-standard-4
fi
run gcloud container clusters get-credentials "$CLUSTER" --zone "$ZONE" --project "$PROJECT"

run gcloud auth configure-docker "$REGION-docker.pkg.dev" --quiet
push_and_deploy "$IMAGE"
host="http://$(wait_lb_address):8080"
doctor "$host"
finish "$host" "gcloud container clusters delete $CLUSTER --zone $ZONE --project $PROJECT --quiet"
