FROM alpine:3.10
RUN apk add --no-cache ca-certificates
RUN [ ! -e /etc/nsswitch.conf ] && echo 'hosts: files dns' > /etc/nsswitch.conf
RUN if [ -d /etc/periodic ]; then rm -rf /etc/periodic; fi
RUN test -e /etc/localtime || ln -s /usr/share/zoneinfo/UTC /etc/localtime
COPY entrypoint.sh /usr/local/bin/entrypoint.sh
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
