# syntax=docker/dockerfile:1
FROM nginx:1.25.5-alpine
COPY <<EOF /etc/nginx/conf.d/default.conf
server {
    listen 8080;
    location / {
        root /usr/share/nginx/html;
        try_files $uri $uri/ /index.html;
    }
}
EOF

COPY <<-EOT /usr/share/nginx/html/index.html
	<!doctype html>
	<title>It works</title>
	EOT
EXPOSE 8080
