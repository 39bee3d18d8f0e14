module example.test/go-hello

go 1.19
