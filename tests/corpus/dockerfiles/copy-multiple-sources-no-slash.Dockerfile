FROM alpine:3.19.1
WORKDIR /etc/myapp
COPY config.yaml logging.yaml /etc/myapp
COPY a.txt b.txt c.txt /data/
ADD one.conf two.conf /etc/conf.d
COPY ["x.json", "y.json", "/etc/json"]
CMD ["cat", "/etc/myapp/config.yaml"]
