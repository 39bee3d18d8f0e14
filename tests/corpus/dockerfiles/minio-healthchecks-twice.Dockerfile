FROM quay.io/minio/minio:RELEASE.2024-04-18T19-09-19Z
HEALTHCHECK --interval=30s --timeout=20s --retries=3 CMD ["curl", "-f", "http://localhost:9000/minio/health/live"]
COPY policies/ /policies/
HEALTHCHECK --interval=15s CMD ["mc", "ready", "local"]
EXPOSE 9000 9001
CMD ["server", "/data", "--console-address", ":9001"]
