FROM authelia/base:latest@sha256:ce0ed2235ca29b748bb086db7b39429b0236da7b488472f52bbfc6b0c2bcb88a AS base
FROM golang:latest AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/authelia ./cmd/authelia

FROM base
COPY --from=build /out/authelia /app/authelia
ENTRYPOINT ["/app/authelia"]
