FROM --platform=linux/arm/v7 arm32v7/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends qemu-user-static=1:7.2+dfsg-7+deb12u5 \
    && rm -rf /var/lib/apt/lists/*
COPY app-armhf /usr/local/bin/app
CMD ["/usr/local/bin/app"]
