ARG GIT_VERSION=2.39.3-1.el9_2
FROM rockylinux:9.3 AS base
ENV JQ_VERSION=1.6-15.el9
RUN yum install -y "git-core-${GIT_VERSION}" "jq-$JQ_VERSION" && yum clean all

FROM base AS tools
ARG YQ_VERSION
RUN yum install -y "jq-${JQ_VERSION}" "yq-${YQ_VERSION}" && yum clean all

FROM rockylinux:9.3
COPY --from=tools /usr/bin/yq /usr/local/bin/yq
RUN yum install -y "jq-${JQ_VERSION}" && yum clean all
USER 1000
CMD ["bash"]
