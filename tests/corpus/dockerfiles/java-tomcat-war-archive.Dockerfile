FROM tomcat:10.1.20-jdk17-temurin-jammy
RUN rm -rf /usr/local/tomcat/webapps/*
COPY target/ROOT.war /usr/local/tomcat/webapps/ROOT.war
COPY dist/static-assets.tar.gz /tmp/
RUN tar -xzf /tmp/static-assets.tar.gz -C /usr/local/tomcat/webapps/ROOT/ && rm /tmp/static-assets.tar.gz
COPY conf/server.xml conf/context.xml /usr/local/tomcat/conf/
EXPOSE 8080
CMD ["catalina.sh", "run"]
