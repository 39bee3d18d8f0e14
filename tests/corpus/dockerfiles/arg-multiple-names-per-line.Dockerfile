FROM node:20.11.1-bookworm-slim
ARG NODE_ENV=production NPM_TOKEN
ARG APP_UID=10001 APP_USER=node
ENV NODE_ENV=${NODE_ENV}
WORKDIR /app
COPY package.json package-lock.json ./
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc
COPY . .
USER ${APP_USER}
CMD ["node", "server.js"]
