FROM amazonlinux:2023
RUN yum update -y && yum install -y shadow-utils tar gzip && yum clean all
RUN curl -sSL https://example.com/aws-tool.tar.gz | tar -xz -C /opt
RUN useradd -u 1500 -m appuser
USER appuser
CMD ["/opt/aws-tool/bin/run"]
