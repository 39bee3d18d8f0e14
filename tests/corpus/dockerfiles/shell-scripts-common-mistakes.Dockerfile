FROM ubuntu:22.04
RUN echo "export PATH=$PATH:/opt/bin" >> ~/.bashrc
RUN [ -f /etc/os-release ] && . /etc/os-release && echo $ID
RUN mkdir /data && chmod 777 /data && chown -R nobody:nogroup /data/*
RUN rm -rf $TMPDIR/*
RUN echo '$HOME is' $HOME
RUN if [ $(id -u) == 0 ]; then echo root; fi
RUN grep -r "TODO" /etc | cat
CMD ["bash"]
