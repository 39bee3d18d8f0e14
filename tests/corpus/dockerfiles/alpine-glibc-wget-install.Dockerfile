FROM alpine:3.19.1
ENV GLIBC_VERSION=2.35-r1
RUN apk add --no-cache wget=1.21.4-r0 ca-certificates=20240226-r0 \
    && wget -q -O /etc/apk/keys/sgerrand.rsa.pub https://example.com/keys/sgerrand.rsa.pub \
    && wget https://example.com/glibc/${GLIBC_VERSION}/glibc-${GLIBC_VERSION}.apk \
    && apk add --no-cache glibc-${GLIBC_VERSION}.apk \
    && rm glibc-${GLIBC_VERSION}.apk
CMD ["/bin/sh"]
