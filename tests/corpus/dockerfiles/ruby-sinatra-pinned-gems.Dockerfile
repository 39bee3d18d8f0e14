FROM ruby:3.3.1-slim-bookworm

RUN gem install bundler:2.5.9 && gem install puma -v 6.4.2

WORKDIR /app
COPY Gemfile Gemfile.lock ./
RUN bundle config set --local without 'development test' \
    && bundle install

COPY . .
USER nobody
EXPOSE 9292
CMD ["bundle", "exec", "puma", "-p", "9292"]
