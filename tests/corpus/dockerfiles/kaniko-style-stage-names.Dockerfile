FROM busybox:1.36.1-musl AS stage
RUN mkdir -p /out/etc && echo "nameserver 127.0.0.1" > /out/etc/resolv.conf

FROM alpine:3.19.1 AS Scratch
RUN apk add --no-cache ca-certificates=20240226-r0

FROM scratch
COPY --from=stage /out/ /
COPY --from=Scratch /etc/ssl/certs/ /etc/ssl/certs/
ENTRYPOINT ["/bin/app"]
