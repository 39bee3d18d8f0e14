FROM wordpress:php8.2-fpm
RUN apt-get update && apt-get install -y --no-install-recommends libmagickwand-dev \
    && pecl install imagick-3.7.0 \
    && docker-php-ext-enable imagick
ADD php.ini /usr/local/etc/php/conf.d/custom.ini
ADD https://example.com/plugins/cache-plugin.4.2.zip /tmp/plugin.zip
RUN unzip /tmp/plugin.zip -d /usr/src/wordpress/wp-content/plugins/ && rm /tmp/plugin.zip
USER www-data
