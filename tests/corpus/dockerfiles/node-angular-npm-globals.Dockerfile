FROM node:18.20.2-bookworm AS build
RUN npm install -g @angular/cli
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm i --no-audit --no-fund
COPY . .
RUN npx ng build --configuration production

FROM nginx:1.25.5-alpine
COPY --from=build /app/dist/web/browser /usr/share/nginx/html
RUN npm install express@4
EXPOSE 80
