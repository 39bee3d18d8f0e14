FROM oraclelinux:8-slim
ARG MYSQL_VERSION=8.0.35-1.el8
ENV MYSQL_SHELL_VERSION 8.0.35-1.el8
RUN microdnf install -y "mysql-server-minimal-$MYSQL_VERSION" "mysql-shell-${MYSQL_SHELL_VERSION}" \
 && microdnf clean all
COPY docker-entrypoint.sh /entrypoint.sh
RUN microdnf install -y "mysql-router-community-${MYSQL_ROUTER_VERSION}" \
 && microdnf clean all
RUN microdnf install -y "mysql-community-client-${MYSQL_VERSION:-8.0.35-1.el8}" \
 && microdnf clean all
EXPOSE 3306 33060
ENTRYPOINT ["/entrypoint.sh"]
CMD ["mysqld"]
