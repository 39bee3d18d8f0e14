FROM node:18.20-alpine3.19
WORKDIR /app
COPY package.json yarn.lock ./
RUN yarn install --frozen-lockfile --production && yarn cache clean
COPY . .
USER node
CMD ["node", "server.js"]
