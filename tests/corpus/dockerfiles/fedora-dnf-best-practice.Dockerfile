FROM registry.fedoraproject.org/fedora-minimal:40
RUN dnf install -y --setopt=install_weak_deps=False \
        golang-1.22.2 \
        git-core-2.44.0 \
    && dnf clean all
WORKDIR /opt/build
COPY . .
RUN go build -o /usr/local/bin/tool ./...
USER 1001
ENTRYPOINT ["/usr/local/bin/tool"]
