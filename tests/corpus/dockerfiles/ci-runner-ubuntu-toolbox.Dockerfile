FROM ubuntu:latest
ENV DEBIAN_FRONTEND=noninteractive
RUN apt update && apt install -y git curl unzip
RUN curl -sL https://example.com/awscliv2.zip -o awscliv2.zip && unzip awscliv2.zip && ./aws/install
RUN wget -O /usr/local/bin/yq https://example.com/yq_linux_amd64 && chmod +x /usr/local/bin/yq
RUN useradd -m -u 1001 runner && echo "runner ALL=(ALL) NOPASSWD: ALL" >> /etc/sudoers
WORKDIR /home/runner
USER root
ENTRYPOINT ["/bin/bash", "-c"]
CMD ["echo ready"]
