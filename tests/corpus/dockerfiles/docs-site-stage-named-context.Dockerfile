FROM python:3.12.3-alpine3.19 AS context
WORKDIR /docs
COPY requirements-docs.txt .
RUN pip install --no-cache-dir -r requirements-docs.txt
COPY . .
RUN mkdocs build -d /site

FROM nginx:1.25.5-alpine
COPY --from=context /site /usr/share/nginx/html
EXPOSE 8080
