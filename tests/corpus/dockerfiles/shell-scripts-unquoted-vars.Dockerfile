FROM debian:bookworm-slim
ARG VERSION=1.2.3
ARG TARGETARCH
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5 ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSLo /tmp/app.tgz https://example.com/app/v$VERSION/app-linux-$TARGETARCH.tgz \
    && tar -xzf /tmp/app.tgz -C /usr/local/bin \
    && rm /tmp/app.tgz
RUN for f in `ls /usr/local/bin`; do chmod +x /usr/local/bin/$f; done
RUN export BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) && echo $BUILD_DATE > /build-date
RUN cd /usr/local/bin; ls -la
CMD ["app"]
