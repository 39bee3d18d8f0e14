FROM debian:bookworm-slim AS rootfs-builder
RUN apt-get update && apt-get install -y --no-install-recommends debootstrap=1.0.128+nmu2+deb12u1 \
    && debootstrap --variant=minbase bookworm /rootfs http://deb.example.org/debian \
    && rm -rf /var/lib/apt/lists/*

FROM scratch
COPY --from=rootfs-builder /rootfs /
COPY --from=rootfs-builder / /
CMD ["/bin/bash"]
