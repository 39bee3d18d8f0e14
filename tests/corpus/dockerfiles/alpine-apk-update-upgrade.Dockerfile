FROM alpine:3.19.1
RUN apk update && apk upgrade
RUN apk --no-cache add ca-certificates=20240226-r0
RUN apk add --no-cache --update openssl=3.1.4-r6
RUN apk add -U tzdata=2024a-r0
CMD ["sh"]
