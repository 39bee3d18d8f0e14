FROM registry.access.redhat.com/ubi8/ubi-minimal:8.9
RUN microdnf install java-17-openjdk-headless shadow-utils \
    && microdnf clean all
RUN useradd -u 185 -r jboss
COPY target/quarkus-app/ /deployments/
USER 185
ENV JAVA_OPTS="-Dquarkus.http.host=0.0.0.0"
CMD ["java", "-jar", "/deployments/quarkus-run.jar"]
