# hadolint global ignore=DL3018,DL3059
FROM alpine:3.19.1
RUN apk add --no-cache python3 py3-pip
RUN apk add --no-cache git
RUN pip install --no-cache-dir black
CMD ["black", "--check", "."]
