FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5 && rm -rf /var/lib/apt/lists/*
COPY service /usr/local/bin/service
HEALTHCHECK --interval=10s CMD curl -f http://localhost:8080/ready || exit 1
EXPOSE 8080
HEALTHCHECK --interval=30s --retries=5 CMD curl -f http://localhost:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/service"]
