FROM node:20.12.2-bookworm-slim

WORKDIR /usr/src/app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

RUN npm install -g pm2 nodemon
COPY . .

ENV NODE_ENV=production
EXPOSE 3000
USER node
CMD ["pm2-runtime", "server.js"]
