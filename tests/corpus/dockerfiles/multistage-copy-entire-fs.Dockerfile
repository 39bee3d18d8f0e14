FROM alpine:3.19.1 AS rootfs
RUN apk add --no-cache --initdb -p /out busybox=1.36.1-r15 musl=1.2.4_git20230717-r4

FROM scratch AS final
COPY --from=rootfs /out/ /
COPY --from=rootfs / /
CMD ["/bin/sh"]
