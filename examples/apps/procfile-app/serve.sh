#!/bin/sh
# An app ferry knows only by its Procfile's web: line. It answers on $PORT with
# busybox's httpd serving this directory's www/.
exec busybox httpd -f -p "${HOST:-0.0.0.0}:${PORT:-8080}" -h www
