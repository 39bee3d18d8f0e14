FROM fluent/fluentd:v1.16.5-debian-1.0
USER root
RUN gem install fluent-plugin-elasticsearch --no-document --version 5.4.3 \
 && gem install fluent-plugin-s3 -N \
 && gem install fluent-plugin-prometheus:2.1.0 \
 && gem sources --clear-all
COPY fluent.conf /fluentd/etc/
USER fluent
