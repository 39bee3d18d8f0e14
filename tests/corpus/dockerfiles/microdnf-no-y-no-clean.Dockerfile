FROM registry.access.redhat.com/ubi9/ubi-minimal:9.4
RUN microdnf install tar gzip
RUN microdnf install -y --nodocs python3.11 && microdnf clean all
COPY app/ /opt/app/
USER 1001
CMD ["python3.11", "/opt/app/main.py"]
