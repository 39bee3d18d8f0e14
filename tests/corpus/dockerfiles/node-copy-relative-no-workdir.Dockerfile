FROM node:20.12.2-alpine3.19
COPY package.json app/
COPY . app/
RUN cd app && npm ci --omit=dev
CMD ["node", "app/index.js"]
