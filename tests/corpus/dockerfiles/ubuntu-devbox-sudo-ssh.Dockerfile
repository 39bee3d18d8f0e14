FROM ubuntu:20.04
LABEL maintainer="dev-team@example.org"

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      sudo=1.8.31-1ubuntu1.5 \
      openssh-server=1:8.2p1-4ubuntu0.11 \
      vim=2:8.1.2269-1ubuntu5.21 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd -m -s /bin/bash dev && echo "dev ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/dev
USER dev
RUN sudo mkdir -p /var/run/sshd && sudo chown dev /var/run/sshd
RUN cd /home/dev && git clone https://example.org/dotfiles.git && cd dotfiles && ./install.sh
RUN service ssh start

EXPOSE 22
CMD ["/usr/sbin/sshd", "-D"]
