FROM ubuntu:22.04
RUN apt update && apt-get install -y --no-install-recommends aptitude=0.8.13-3ubuntu1 && rm -rf /var/lib/apt/lists/*
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip=22.0.2+dfsg-1ubuntu0.4 \
    && apt clean && rm -rf /var/lib/apt/lists/*
CMD ["bash"]
