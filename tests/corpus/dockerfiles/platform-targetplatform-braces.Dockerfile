FROM --platform=${TARGETPLATFORM} debian:bookworm-slim AS base
RUN apt-get update && apt-get install -y --no-install-recommends tini=0.19.0-1 && rm -rf /var/lib/apt/lists/*

FROM --platform=${BUILDPLATFORM:-linux/amd64} rust:1.77-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release

FROM base
COPY --from=build /src/target/release/svc /usr/local/bin/svc
ENTRYPOINT ["/usr/bin/tini", "--", "svc"]
