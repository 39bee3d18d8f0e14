FROM registry.access.redhat.com/ubi9/ubi:9.4
RUN useradd -u 1000680000 -g 0 -m -d /opt/app-root app \
    && chgrp -R 0 /opt/app-root \
    && chmod -R g=u /opt/app-root
WORKDIR /opt/app-root
USER 1000680000
CMD ["/opt/app-root/run"]
