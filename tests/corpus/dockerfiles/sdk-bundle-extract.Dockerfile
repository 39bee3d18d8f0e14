FROM ubuntu:22.04
COPY android-cmdline-tools.zip /opt/
COPY toolchain.tar.bz2 /opt/toolchain.tar.bz2
RUN cd /opt && tar xjf toolchain.tar.bz2 && rm toolchain.tar.bz2
COPY jdk.tgz /tmp/jdk.tgz
RUN mkdir -p /opt/jdk && tar -C /opt/jdk --strip-components=1 -xf /tmp/jdk.tgz
ENV PATH=/opt/jdk/bin:/opt/toolchain/bin:$PATH
CMD ["bash"]
