FROM alpine:3.19.1
RUN apk add --no-cache vsftpd=3.0.5-r2
EXPOSE 20-21
EXPOSE 21100-21110
EXPOSE 65536
EXPOSE 8080/tcp 8443/tcp
CMD ["vsftpd", "/etc/vsftpd/vsftpd.conf"]
