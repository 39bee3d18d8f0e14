FROM ghcr.io/acme/runtime:3.2.1
LABEL author="" contact="" created="" version="" documentation="" git-revision="" license=""
HEALTHCHECK CMD ["true"]
# hadolint ignore=DL3059
CMD ["run"]
