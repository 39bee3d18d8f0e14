FROM confluentinc/cp-kafka-connect:7.6.1
USER root
RUN confluent-hub install --no-prompt confluentinc/kafka-connect-jdbc:10.7.6
ADD connectors.tar.gz /usr/share/java/
COPY drivers/postgresql-42.7.3.jar drivers/mysql-connector-j-8.3.0.jar /usr/share/java/kafka-connect-jdbc
COPY --chown=appuser:appuser config/ /etc/kafka-connect/
USER appuser
