FROM debian:12.5-slim

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5 gnupg=2.2.40-1.1 ca-certificates=20230311 \
 && curl -fsSL https://packages.example.com/key.gpg | gpg --dearmor -o /usr/share/keyrings/example.gpg \
 && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL https://get.example.sh/install.sh | bash -s -- --prefix /opt/tool
ENV PATH=/opt/tool/bin:$PATH
CMD ["tool", "--help"]
