FROM postgres:16.2-bookworm

ENV POSTGRES_USER=app \
    POSTGRES_DB=appdb
ENV POSTGRES_PASSWORD=changeme

COPY initdb/*.sql /docker-entrypoint-initdb.d/
COPY postgresql.conf /etc/postgresql/postgresql.conf
CMD ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
