FROM alpine:3.19.1
LABEL author="" \
      contact="not-an-email" \
      created="yesterday" \
      version="v1.2" \
      documentation="docs/index.html" \
      git-revision="main" \
      license="Apache 2"
CMD ["sh"]
