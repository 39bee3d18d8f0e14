FROM node:20.12.2-bookworm-slim AS deps
WORKDIR /repo
COPY package.json yarn.lock .yarnrc.yml ./
COPY .yarn ./.yarn
RUN yarn install --immutable
RUN yarn workspaces focus --production @acme/api

FROM node:20.12.2-bookworm-slim
WORKDIR /repo
RUN yarn global add serve
COPY --from=deps /repo/node_modules ./node_modules
COPY . .
CMD ["node", "packages/api/dist/index.js"]
