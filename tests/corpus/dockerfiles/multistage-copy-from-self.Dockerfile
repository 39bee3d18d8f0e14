FROM golang:1.22.3-alpine3.19 AS build
WORKDIR /src
COPY . .
RUN go build -o /bin/app .
COPY --from=build /bin/app /usr/local/bin/app

FROM scratch
COPY --from=build /bin/app /app
ENTRYPOINT ["/app"]
