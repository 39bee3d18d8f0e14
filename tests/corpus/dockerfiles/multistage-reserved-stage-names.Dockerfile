FROM golang:1.22.3 AS scratch
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /app .

FROM alpine:3.19.1 AS context
COPY --from=scratch /app /app

FROM alpine:3.19.1 AS Build
COPY --from=context /app /app
ENTRYPOINT ["/app"]
