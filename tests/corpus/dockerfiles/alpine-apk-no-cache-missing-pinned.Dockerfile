FROM alpine:3.17.7
RUN apk add nginx=1.22.1-r1 && rm -rf /var/cache/apk/*
RUN apk --update add openssl=3.0.12-r4
COPY nginx.conf /etc/nginx/nginx.conf
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
