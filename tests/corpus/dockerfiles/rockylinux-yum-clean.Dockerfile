FROM rockylinux:9.3
RUN yum install -y httpd-2.4.57 mod_ssl-2.4.57 \
    && yum clean all \
    && rm -rf /var/cache/yum
COPY httpd.conf /etc/httpd/conf/httpd.conf
EXPOSE 80 443
CMD ["httpd", "-DFOREGROUND"]
