FROM debian:bookworm-slim
RUN echo "built at $(date)" > /buildinfo

FROM alpine:3.19.1
COPY --from=0 /buildinfo /buildinfo
COPY --from=nginx:1.25.5-alpine /etc/nginx/nginx.conf /etc/nginx/nginx.conf
COPY --from=1 /etc/os-release /tmp/os-release
CMD ["cat", "/buildinfo"]
