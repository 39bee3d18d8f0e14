FROM ubuntu:22.04
RUN echo "dash dash/sh boolean false" | debconf-set-selections && dpkg-reconfigure -f noninteractive dash
RUN ln -s /bin/bash /bin/sh -f
RUN rm /bin/sh && ln -sf /bin/bash /bin/sh
COPY build.sh /build.sh
RUN /build.sh
CMD ["/bin/bash"]
