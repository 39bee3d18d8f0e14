FROM almalinux:9.3-minimal AS build
RUN microdnf install -y gcc-11.4.1 make-4.3 && microdnf clean all
WORKDIR /src
COPY . .
RUN make

FROM almalinux:9.3-minimal
COPY --from=build /src/bin/daemon /usr/sbin/daemon
RUN microdnf install -y procps-ng-3.3.17 && microdnf clean all
CMD ["/usr/sbin/daemon", "-f"]
