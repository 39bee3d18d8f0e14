FROM ubuntu:24.04

RUN apt-get update && apt-get install -y --no-install-recommends curl=8.5.0-2ubuntu10.1 wget=1.21.4-1ubuntu4 ca-certificates=20240203 \
    && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL https://deb.nodesource.example/setup_20.x | bash -
RUN wget https://example.org/releases/tool-1.4.2-linux-amd64.tar.gz \
    && tar -xzf tool-1.4.2-linux-amd64.tar.gz -C /usr/local/bin \
    && rm tool-1.4.2-linux-amd64.tar.gz

CMD ["bash"]
