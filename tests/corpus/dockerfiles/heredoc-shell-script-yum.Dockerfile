# syntax=docker/dockerfile:1.6
FROM rockylinux:9.3
RUN <<SCRIPT bash
set -euo pipefail
yum install -y python3 python3-pip
pip3 install awscli
curl -sL https://example.com/install | sh
SCRIPT

CMD ["aws", "--version"]
