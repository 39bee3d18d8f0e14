FROM ubuntu:22.04
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.81.0-1ubuntu1.16 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL https://example.com/a.sh | sh
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN curl -fsSL https://example.com/b.sh | bash
SHELL ["/bin/sh", "-c"]
RUN curl -fsSL https://example.com/c.sh | sh
CMD ["bash"]
