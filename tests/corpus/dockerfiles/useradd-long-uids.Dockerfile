FROM rockylinux:9.3
RUN useradd --uid 1234567 --create-home ci \
 && useradd -u 65534000 -r svc
RUN useradd --no-log-init -u 7777777 logger
RUN adduser -u 88888888 other
USER 1234567
CMD ["bash"]
