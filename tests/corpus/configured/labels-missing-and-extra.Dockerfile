FROM ghcr.io/acme/base:2.1.0
LABEL version="2.0.0" maintainer="someone@example.com"
LABEL com.acme.team="payments"
CMD ["/usr/local/bin/pay"]
