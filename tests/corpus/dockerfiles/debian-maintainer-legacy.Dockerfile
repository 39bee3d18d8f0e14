FROM debian:jessie
MAINTAINER John Smith <john.smith@example.com>

RUN apt-get update && apt-get upgrade -y && apt-get install -y apache2 && apt-get clean
ADD index.html /var/www/html/index.html
ADD site.conf /etc/apache2/sites-available/000-default.conf
EXPOSE 80
CMD ["/usr/sbin/apache2ctl", "-D", "FOREGROUND"]
