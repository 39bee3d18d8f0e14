# Builds a static binary; the author named the build stage "scratch" by mistake.
FROM rust:1.77-slim-bookworm AS scratch
RUN rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --target x86_64-unknown-linux-musl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=scratch /src/target/x86_64-unknown-linux-musl/release/app /app
ENTRYPOINT ["/app"]
