FROM debian:bookworm-slim

RUN useradd --system --uid 999 svc
USER svc
COPY --chown=svc:svc app /opt/app
WORKDIR /opt/app

# the init script needs to bind port 80 and fix permissions at start
USER root
CMD ["/opt/app/start.sh"]
