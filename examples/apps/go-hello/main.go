// A Go app ferry deploys with no ferry.toml: detected from go.mod, built with
// `go build`. Standard library only, so it builds offline.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	host := os.Getenv("HOST")
	if host == "" {
		host = "0.0.0.0"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Hello from a detected Go app")
	})
	log.Fatal(http.ListenAndServe(host+":"+port, nil))
}
