FROM node:20.12.2-alpine3.19 AS base
WORKDIR /app
COPY package.json yarn.lock ./

FROM base AS prod
RUN yarn install --production --frozen-lockfile
COPY . .
CMD ["node", "index.js"]
