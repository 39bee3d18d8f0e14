FROM centos:7
MAINTAINER "Ops Team" <ops@example.net>
RUN yum install epel-release
RUN yum -y install nginx supervisor
COPY supervisord.conf /etc/supervisord.conf
EXPOSE 80
CMD ["/usr/bin/supervisord", "-n", "-c", "/etc/supervisord.conf"]
