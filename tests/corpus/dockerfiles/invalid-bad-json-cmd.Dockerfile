FROM alpine:3.19.1
COPY app /app
CMD ["/app", "--port", 8080]
ENTRYPOINT ['/bin/sh', '-c']
