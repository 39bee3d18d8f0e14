FROM golang:1.22.3-bookworm
RUN go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.34.0 \
 && go install google.golang.org/grpc/cmd/protoc-gen-go-grpc \
 && go install github.com/bufbuild/buf/cmd/buf@latest
RUN go get -u github.com/swaggo/swag/cmd/swag
WORKDIR /workspace
CMD ["buf", "generate"]
