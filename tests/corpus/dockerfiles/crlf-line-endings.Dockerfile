FROM alpine:3.19.1
RUN apk add --no-cache \
    bash=5.2.21-r0
COPY run.sh /run.sh
CMD ["/run.sh"]
