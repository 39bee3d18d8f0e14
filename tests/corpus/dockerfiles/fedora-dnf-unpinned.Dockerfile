FROM fedora:40
RUN dnf install python3-pip gcc
RUN dnf -y install redhat-rpm-config && dnf -y clean all
RUN dnf upgrade -y --refresh
WORKDIR /src
COPY . .
CMD ["python3", "-m", "service"]
