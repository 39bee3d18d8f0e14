# syntax=docker/dockerfile:1.4
FROM alpine:3.19.1
COPY <<EOF1 /etc/app/one.conf <<EOF2 /etc/app/
key=value
EOF1
other=thing
EOF2

RUN <<FIRST cat > /tmp/a && sh <<SECOND
hello from the first heredoc
FIRST
apk add --no-cache jq
echo done
SECOND

CMD ["cat", "/etc/app/one.conf"]
