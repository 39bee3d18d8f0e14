FROM ubuntu:22.04
COPY packages/*.deb /tmp/debs/
RUN apt-get update && apt-get install -y --no-install-recommends /tmp/debs/*.deb ./local.deb \
    && rm -rf /var/lib/apt/lists/* /tmp/debs
RUN dpkg -i /tmp/extra.deb || apt-get -f install -y
CMD ["bash"]
