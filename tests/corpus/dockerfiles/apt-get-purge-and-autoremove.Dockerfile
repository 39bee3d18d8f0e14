FROM debian:bookworm-slim
ENV BUILD_DEPS="gcc libc6-dev make"
RUN set -ex \
    && apt-get update \
    && apt-get install -y --no-install-recommends $BUILD_DEPS \
    && make -C /usr/src/app \
    && apt-get purge -y --auto-remove $BUILD_DEPS \
    && rm -rf /var/lib/apt/lists/*
CMD ["/usr/src/app/bin/app"]
