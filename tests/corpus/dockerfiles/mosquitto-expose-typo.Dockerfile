FROM eclipse-mosquitto:2.0.18
COPY mosquitto.conf /mosquitto/config/mosquitto.conf
EXPOSE 1883 8883 90010
EXPOSE 9001
