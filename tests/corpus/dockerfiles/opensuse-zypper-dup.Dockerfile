FROM opensuse/leap:15.6
RUN zypper --non-interactive refresh && zypper --non-interactive dup && zypper clean -a
RUN zypper install -y nginx && zypper clean
RUN zypper dist-upgrade -y
COPY nginx.conf /etc/nginx/nginx.conf
CMD ["nginx", "-g", "daemon off;"]
