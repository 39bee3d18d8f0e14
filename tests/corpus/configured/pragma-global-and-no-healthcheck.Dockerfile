# hadolint global ignore=DL3018
FROM alpine:3.19.1 AS build
RUN apk add --no-cache make
FROM alpine:3.19.1
COPY --from=build /usr/bin/make /usr/bin/make
LABEL version="1.0.0-rc.1+build.5" license="GPL-2.0-only OR MIT"
CMD ["make"]
