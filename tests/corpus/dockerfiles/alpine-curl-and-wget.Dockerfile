FROM alpine:3.19
RUN apk add --no-cache curl=8.5.0-r0 wget=1.21.4-r0
RUN wget --progress=dot:giga https://example.com/dl/helm-v3.14.4-linux-amd64.tar.gz \
    && tar xzf helm-v3.14.4-linux-amd64.tar.gz \
    && mv linux-amd64/helm /usr/local/bin/helm
RUN curl -sSLo /usr/local/bin/kubectl https://example.com/dl/kubectl/v1.30.0/kubectl \
    && chmod +x /usr/local/bin/kubectl
ENTRYPOINT ["helm"]
