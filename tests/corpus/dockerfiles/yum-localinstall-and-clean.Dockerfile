FROM centos:centos7.9.2009
COPY rpms/ /tmp/rpms/
RUN yum localinstall -y /tmp/rpms/*.rpm && yum clean all && rm -rf /tmp/rpms
RUN yum install -y https://example.com/repo/epel-release-latest-7.noarch.rpm && yum clean all
RUN yum -y install gcc && yum -y clean all
CMD ["/usr/bin/app"]
