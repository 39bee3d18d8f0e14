FROM quay.io/prometheus/busybox:glibc AS tools
FROM registry.internal.example.com/base/debian:12
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=tools /bin/busybox /busybox
LABEL author="ops" contact="ops@example.com" created="2024-01-31T08:00:00+01:00" version="0.1.0" \
      documentation="https://example.com" git-revision="0123456789abcdef0123456789abcdef01234567" license="MIT"
HEALTHCHECK NONE
CMD ["/busybox", "sh"]
