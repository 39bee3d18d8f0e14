FROM ubuntu:20.04
RUN apt-get update && apt-get install -y --no-install-recommends systemd=245.4-4ubuntu3.23 cron=3.0pl1-136ubuntu1 \
    && rm -rf /var/lib/apt/lists/*
RUN systemctl enable cron && service cron start
RUN shutdown -r now || true
RUN free -m && top -bn1 | head -5
RUN kill -HUP 1; mount -t tmpfs none /mnt || true
RUN ifconfig eth0 || ip addr
CMD ["/lib/systemd/systemd"]
