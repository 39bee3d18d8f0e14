FROM alpine:3.19.1
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN wget -qO- https://example.com/install.sh | sh
RUN ps aux | grep -v grep | wc -l
CMD ["sh"]
