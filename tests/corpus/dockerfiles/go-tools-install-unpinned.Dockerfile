FROM golang:1.21 as tools
RUN go install github.com/golangci/golangci-lint/cmd/golangci-lint@latest
RUN go install golang.org/x/tools/cmd/goimports
RUN go install github.com/go-delve/delve/cmd/dlv@v1.22.1

FROM golang:1.21
COPY --from=tools /go/bin/ /usr/local/bin/
WORKDIR /go/src/app
COPY . .
CMD ["golangci-lint", "run", "./..."]
