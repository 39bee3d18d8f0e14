#!/bin/sh
# An app ferry knows only by its Procfile's web: line. It answers on $PORT with
# busybox's httpd serving this directory's www/.
exec busybox httpd -f -p "127.0.0.1:${PORT:-8080}" -h www
