FROM debian:12.5-slim
ENV LANG=C.UTF-8 APP_HOME /srv/app
LABEL org.opencontainers.image.vendor="Example" description "Internal \"tools\" image
ENV TZ=UTC PS1 "\u@\h \w $ "
WORKDIR $APP_HOME
EXPOSE 
CMD ["bash"]
