FROM node:18.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json yarn.lock ./
RUN yarn --frozen-lockfile

FROM deps AS build
COPY . .
RUN yarn build && yarn cache clean

FROM node:18.20.2-bookworm-slim
COPY --from=build /app/dist /app
CMD ["node", "/app/main.js"]
