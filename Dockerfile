# scaleproof image, for running the load from inside a cluster (target-service/k8s/examples/
# scaleproof-job.yaml). Build from the repository root:
#
#   docker build -t REGISTRY/scaleproof:TAG . && docker push REGISTRY/scaleproof:TAG
FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile optimized --locked --bin scaleproof

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/optimized/scaleproof /usr/local/bin/scaleproof
COPY scenarios /scenarios
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/scaleproof"]
