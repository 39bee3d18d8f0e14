FROM ubuntu:22.04
# hadolint ignore=DL3008
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
# hadolint ignore=DL3003, DL3013
RUN cd /tmp && pip install flask
CMD ["python3"]
