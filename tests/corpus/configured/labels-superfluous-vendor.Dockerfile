FROM alpine:3.19.1
LABEL author="Infra" contact="infra@example.com" created="2024-02-29T23:59:59Z" version="0.9.0" \
      documentation="https://example.com/infra" git-revision="fedcba9876543210fedcba9876543210fedcba98" license="BSD-3-Clause"
LABEL vendor="ACME" org.opencontainers.image.title="infra-tools"
HEALTHCHECK NONE
CMD ["sh"]
