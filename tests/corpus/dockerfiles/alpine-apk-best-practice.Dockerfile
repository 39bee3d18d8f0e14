FROM alpine:3.19.1
RUN apk add --no-cache \
      ca-certificates=20240226-r0 \
      tzdata=2024a-r0 \
      su-exec=0.2-r3 \
 && addgroup -S -g 1001 app \
 && adduser -S -u 1001 -G app app
COPY --chown=1001:1001 bin/app /usr/local/bin/app
USER 1001
ENTRYPOINT ["/usr/local/bin/app"]
