FROM debian:bookworm-slim
RUN apt-get update \
    # core tools
    && apt-get install -y --no-install-recommends \
        ca-certificates=20230311 \
        # needed for the healthcheck
        curl=7.88.1-10+deb12u5 \
#       wget is not needed any more
        git=1:2.39.2-1.1 \
    \
    && rm -rf /var/lib/apt/lists/*
ENV A=1 \
    # comment between env pairs
    B=2
CMD ["curl", "--version"]
