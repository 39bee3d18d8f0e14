FROM ubuntu:22.04
RUN useradd -m builder && apt-get update && apt-get install -y --no-install-recommends sudo=1.9.9-1ubuntu2.4 \
    && rm -rf /var/lib/apt/lists/*
USER builder
# hadolint ignore=DL3004
RUN sudo true
#hadolint ignore=DL3004,SC2086
RUN sudo chown -R builder $HOME
RUN sudo ls /root
CMD ["bash"]
