FROM alpine:3.18
RUN apk update && apk add curl jq bash
RUN apk add --update git openssh-client
COPY deploy.sh /usr/local/bin/deploy.sh
ENTRYPOINT ["/usr/local/bin/deploy.sh"]
