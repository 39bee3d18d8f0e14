FROM openjdk:17-jdk-slim
ENV CATALINA_HOME=/usr/local/tomcat PATH=$CATALINA_HOME/bin:$PATH
ENV APP=demo APP_DIR=/srv/${APP} LOG_DIR=${APP_DIR}/logs
ENV SAFE_PATH=/opt/bin:$PATH
ENV VERSION=1.0
ENV IMAGE_TAG=app:${VERSION}
CMD ["catalina.sh", "run"]
