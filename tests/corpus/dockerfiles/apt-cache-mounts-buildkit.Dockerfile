# syntax=docker/dockerfile:1.7
FROM debian:bookworm-slim
RUN rm -f /etc/apt/apt.conf.d/docker-clean
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends build-essential=12.9 pkg-config=1.8.1-1
COPY . /src
RUN --mount=type=secret,id=netrc,target=/root/.netrc make -C /src
CMD ["/src/bin/app"]
