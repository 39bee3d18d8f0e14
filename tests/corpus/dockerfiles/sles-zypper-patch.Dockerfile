FROM registry.suse.com/bci/bci-base:15.5
RUN zypper -n install --no-recommends java-17-openjdk-headless=17.0.10
RUN zypper up -y && zypper cc -a
COPY app.jar /opt/app.jar
CMD ["java", "-jar", "/opt/app.jar"]
