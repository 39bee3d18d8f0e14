# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.22.3-alpine3.19 AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM --platform=$TARGETPLATFORM alpine:3.19.1
COPY --from=build /out/app /usr/bin/app
ENTRYPOINT ["/usr/bin/app"]
