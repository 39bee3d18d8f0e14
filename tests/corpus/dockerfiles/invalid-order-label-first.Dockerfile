LABEL org.opencontainers.image.source="https://git.example.org/team/app"
FROM alpine:3.19.1
RUN apk add --no-cache bash=5.2.21-r0
CMD ["bash"]
