# scaleproof image, for running the load from inside a cluster (target-service/k8s/examples/
# scaleproof-job.yaml). Build from the repository root:
#
#   docker build -t REGISTRY/scaleproof:TAG . && docker push REGISTRY/scaleproof:TAG
#
# The same image runs the workers of `scaleproof run --workers N`; for results in s3://, gs://
# or az:// build it with the cloud feature: --build-arg FEATURES=cloud.
FROM rust:1.89-bookworm AS build
ARG FEATURES=""
WORKDIR /src
COPY . .
RUN cargo build --profile optimized --locked --bin scaleproof --features "$FEATURES"

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/optimized/scaleproof /usr/local/bin/scaleproof
COPY scenarios /scenarios
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/scaleproof"]
