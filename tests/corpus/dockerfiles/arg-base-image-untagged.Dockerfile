ARG BASE_IMAGE=ubuntu
FROM ${BASE_IMAGE}
ARG REGISTRY=docker.io
FROM $REGISTRY/library/busybox AS tools
FROM ${BASE_IMAGE}:${BASE_TAG:-22.04} AS final
COPY --from=tools /bin/busybox /bin/busybox
CMD ["busybox", "sh"]
