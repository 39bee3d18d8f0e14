# Global settings
ENV TZ=UTC
ARG VERSION=1.2.3
FROM debian:bookworm-slim
RUN echo "$TZ" > /etc/timezone
CMD ["date"]
