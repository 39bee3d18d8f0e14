FROM redis:7.2.4-bookworm AS base
HEALTHCHECK CMD redis-cli ping || exit 1

FROM base
# sidecar use: the parent's check makes no sense here
HEALTHCHECK NONE
COPY redis.conf /usr/local/etc/redis/redis.conf
CMD ["redis-server", "/usr/local/etc/redis/redis.conf"]
