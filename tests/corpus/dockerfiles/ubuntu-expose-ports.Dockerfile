FROM ubuntu:22.04
RUN apt-get update && apt-get install -y --no-install-recommends coturn=4.5.2-3 && rm -rf /var/lib/apt/lists/*
# TURN relay ports plus a typo'd admin port
EXPOSE 3478/udp 3478/tcp
EXPOSE 49152-65535/udp
EXPOSE 80000
CMD ["turnserver", "-c", "/etc/turnserver.conf"]
