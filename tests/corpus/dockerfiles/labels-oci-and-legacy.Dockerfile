FROM golang:1.22.3-alpine3.19
LABEL org.label-schema.schema-version="1.0" \
      org.label-schema.name="collector" \
      org.label-schema.vcs-ref="abc1234"
LABEL org.opencontainers.image.authors="Team <team@example.com>"
LABEL vendor=ACME\ Incorporated com.example.is-beta= com.example.is-production=""
LABEL com.example.Version="1.0" com.example_release="x"
LABEL org.dockerproject.foo="bar"
CMD ["true"]
