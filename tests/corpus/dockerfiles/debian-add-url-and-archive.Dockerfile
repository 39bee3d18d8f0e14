FROM debian:bookworm-slim

ADD https://example.com/downloads/app-2.3.1.tar.gz /tmp/
ADD vendor/runtime-3.1.tar.gz /opt/runtime/
ADD config/app.yaml /etc/app/app.yaml
ADD --chown=1000:1000 scripts/ /opt/scripts/
COPY data.tar.xz /tmp/data.tar.xz
RUN tar -xJf /tmp/data.tar.xz -C /srv && rm /tmp/data.tar.xz
CMD ["/opt/runtime/bin/app", "--config", "/etc/app/app.yaml"]
