# Each stage has its own CMD; only duplicates inside one stage count.
FROM alpine:3.19.1 AS debug
RUN apk add --no-cache busybox-extras=1.36.1-r15
CMD ["sh"]

FROM alpine:3.19.1 AS release
COPY app /app
ENTRYPOINT ["/app"]
CMD ["--serve"]
