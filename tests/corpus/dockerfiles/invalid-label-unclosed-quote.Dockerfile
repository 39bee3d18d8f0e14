FROM fluent/fluentd:v1.16-1
USER root
LABEL io.k8s.description="Fluentd log collector" \
      io.openshift.expose-services="24284:tcp \
      io.openshift.tags="logging,fluentd" \
      maintainer="ops@example.com"
RUN gem install fluent-plugin-elasticsearch --no-document
USER fluent
