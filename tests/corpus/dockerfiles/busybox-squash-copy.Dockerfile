FROM alpine:3.19.1 AS base
RUN apk add --no-cache tini=0.19.0-r2 && rm -rf /var/cache/apk

FROM scratch
COPY --from=base / /
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["sh"]
