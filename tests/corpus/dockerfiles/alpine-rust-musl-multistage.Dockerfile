FROM rust:1.77-alpine3.19 AS chef
RUN apk add --no-cache musl-dev=1.2.4_git20230717-r4
RUN cargo install cargo-chef --locked --version 0.1.66
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --bin api

FROM alpine:3.19.1 AS runtime
COPY --from=builder /app/target/release/api /usr/local/bin/api
USER 10001
ENTRYPOINT ["/usr/local/bin/api"]
