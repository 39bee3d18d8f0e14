FROM debian:bookworm-slim
RUN echo "deb http://deb.example.org/debian bookworm-backports main" > /etc/apt/sources.list.d/backports.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends -t bookworm-backports golang-go=2:1.22~3~bpo12+1 \
    && apt-get install -y --no-install-recommends podman/bookworm-backports \
    && rm -rf /var/lib/apt/lists/*
CMD ["go", "version"]
