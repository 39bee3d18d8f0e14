FROM docker.io/library/alpine:3.19.1
LABEL author="Platform Team" \
      contact="platform@example.com" \
      created="2024-05-01T12:00:00Z" \
      version="1.4.2" \
      documentation="https://docs.example.com/api" \
      git-revision="3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39" \
      license="Apache-2.0"
HEALTHCHECK CMD ["wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
USER 10001
CMD ["/app"]
