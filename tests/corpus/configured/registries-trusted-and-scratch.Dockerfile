FROM node:20.12.2-alpine3.19 AS build
WORKDIR /app
COPY . .
RUN npm ci && npm run build

FROM scratch
COPY --from=build /app/dist /dist
FROM build AS again
CMD ["node", "/app/dist/index.js"]
