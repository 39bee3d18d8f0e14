FROM debian:bookworm-20240423

# make bash the default shell so the scripts below work
RUN ln -sf /bin/bash /bin/sh
RUN apt-get update && apt-get install -y --no-install-recommends make=4.3-4.1 && rm -rf /var/lib/apt/lists/*
COPY scripts /opt/scripts
RUN source /opt/scripts/env.sh && make -C /opt/scripts all
CMD ["/opt/scripts/run.sh"]
