FROM --platform=linux/amd64 node:20.12.2-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci && npm run build

FROM --platform=linux/arm64 nginx:1.25.5
COPY --from=build /app/dist /usr/share/nginx/html
