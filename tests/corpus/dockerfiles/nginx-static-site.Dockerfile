FROM node:20-alpine3.19 AS assets
WORKDIR /site
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM nginx:1.25.5-alpine
COPY nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=assets /site/dist /usr/share/nginx/html
EXPOSE 80
HEALTHCHECK CMD wget -q -O /dev/null http://localhost/ || exit 1
CMD ["nginx", "-g", "daemon off;"]
