FROM alpine:3.19.1
RUN apk add --no-cache curl=8.5.0-r0
COPIES app /app
CMD ["/app"]
