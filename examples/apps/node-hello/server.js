// A Node app ferry deploys with no ferry.toml: detected from package.json, started by
// its `start` script. No dependencies.
const http = require("http");

const port = Number(process.env.PORT || 8080);
http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("Hello from a detected Node app\n");
  })
  .listen(port, process.env.HOST || "0.0.0.0");
process.on("SIGTERM", () => process.exit(0));
