FROM composer:2.7.4 AS vendor
WORKDIR /app
COPY composer.json composer.lock ./
RUN composer install --no-dev --no-scripts --prefer-dist

FROM php:8.3-fpm-alpine3.19
RUN apk add icu-dev libzip-dev && docker-php-ext-install intl zip opcache
COPY --from=vendor /app/vendor /var/www/vendor
COPY . /var/www
WORKDIR /var/www
USER www-data
CMD ["php-fpm"]
