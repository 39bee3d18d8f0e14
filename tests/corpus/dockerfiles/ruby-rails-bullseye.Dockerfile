FROM ruby:3.2.2-bullseye

RUN apt-get update -qq && apt-get install -y nodejs postgresql-client && rm -rf /var/lib/apt/lists/*

WORKDIR /myapp
COPY Gemfile Gemfile.lock /myapp/
RUN gem install bundler && bundle install --jobs 4

COPY . /myapp
RUN gem install foreman

EXPOSE 3000
CMD ["bin/rails", "server", "-b", "0.0.0.0"]
