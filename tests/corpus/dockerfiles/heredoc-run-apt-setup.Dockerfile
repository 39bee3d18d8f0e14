# syntax=docker/dockerfile:1.7
FROM debian:bookworm-slim
RUN <<EOF
set -eux
apt-get update
apt-get install -y curl git
rm -rf /var/lib/apt/lists/*
EOF
WORKDIR /srv
CMD ["bash"]
