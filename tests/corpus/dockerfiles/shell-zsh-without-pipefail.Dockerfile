FROM debian:bookworm-slim
SHELL ["/bin/bash", "-c"]
RUN echo "deb http://deb.example.org bookworm main" | tee /etc/apt/sources.list.d/example.list
SHELL ["/bin/bash", "-eo", "pipefail", "-c"]
RUN cat /etc/os-release | grep PRETTY_NAME
CMD ["bash"]
