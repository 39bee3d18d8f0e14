FROM debian:bookworm-slim

# hadolint ignore=DL3008,DL3015
RUN apt-get update && apt-get install -y curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# this one is not covered by the pragma above
RUN apt-get update && apt-get install -y --no-install-recommends jq \
    && rm -rf /var/lib/apt/lists/*
CMD ["bash"]
