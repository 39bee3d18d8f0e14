FROM alpine:3.19.1
ARG NPM_TOKEN
ARG GITHUB_TOKEN=""
ARG APP_VERSION=1.0.0
ENV AWS_SECRET_ACCESS_KEY=dummy \
    AWS_REGION=eu-west-1
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /root/.npmrc
CMD ["sh"]
