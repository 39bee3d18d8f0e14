FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends sudo make g++ && rm -rf /var/lib/apt/lists/*
RUN useradd -ms /bin/bash agent && adduser agent sudo
USER agent
WORKDIR /home/agent/src
COPY --chown=agent . .
RUN make && sudo make install
CMD ["/usr/local/bin/agent"]
