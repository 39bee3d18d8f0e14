FROM debian:bookworm-slim
COPY bin/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/wrapper"]
CMD ["--help"]

ENV APP_MODE=server
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve", "--port", "8080"]
