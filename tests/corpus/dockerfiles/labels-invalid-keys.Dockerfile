FROM alpine:3.19.1
LABEL org.opencontainers.image.title="api" \
      org.opencontainers.image.version="1.4.0"
LABEL com.docker.compose.project="demo"
LABEL Maintainer="ops@example.com"
LABEL my..label="x" trailing-="y"
LABEL io.docker.deprecated="true"
LABEL 1version="2"
CMD ["true"]
