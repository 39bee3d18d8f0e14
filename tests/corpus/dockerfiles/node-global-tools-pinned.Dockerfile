FROM node:18.20.2-bullseye

RUN npm install --global typescript@5.4.5 ts-node@10.9.2 \
    && npm cache clean --force

WORKDIR /workspace
COPY tsconfig.json package.json ./
RUN npm install
COPY src ./src
RUN npx tsc -p .

USER node
CMD ["node", "dist/index.js"]
