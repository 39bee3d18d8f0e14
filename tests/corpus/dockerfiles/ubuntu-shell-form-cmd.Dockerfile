FROM ubuntu:22.04
COPY run.sh /run.sh
ENTRYPOINT /run.sh --verbose
CMD echo "started"
