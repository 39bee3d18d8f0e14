FROM ruby:3.1-alpine AS jekyll
RUN apk add --no-cache build-base=0.5-r3 gcc=13.2.1_git20231014-r0
RUN gem install jekyll bundler --no-document
WORKDIR /srv/jekyll
COPY Gemfile* ./
RUN bundle install
COPY . .
RUN jekyll build -d /site

FROM nginx:1.25.5-alpine
COPY --from=jekyll /site /usr/share/nginx/html
