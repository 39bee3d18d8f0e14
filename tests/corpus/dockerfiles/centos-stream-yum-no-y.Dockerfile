FROM quay.io/centos/centos:stream9
RUN yum update && yum install git-2.43.0 && yum clean all
RUN yum groupinstall -y "Development Tools" && yum clean all
RUN yum install -y python3-3.9.18 && yum clean all
COPY . /opt/src
RUN make -C /opt/src
CMD ["/opt/src/bin/app"]
