FROM ubuntu:22.04

ARG UID=1000000
RUN useradd -u 1000000 -m runner
RUN groupadd -g 200000 builders && useradd -l -u 200000 -g builders builder
RUN useradd --uid "${UID}" worker

USER 1000000
WORKDIR /home/runner
CMD ["/bin/bash"]
