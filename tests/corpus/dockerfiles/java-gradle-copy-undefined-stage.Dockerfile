FROM gradle:8.7.0-jdk17 AS build
COPY --chown=gradle:gradle . /home/gradle/src
WORKDIR /home/gradle/src
RUN gradle bootJar --no-daemon

FROM eclipse-temurin:17-jre
# the stage was renamed to "build" but this line was not updated
COPY --from=compile /home/gradle/src/build/libs/*.jar /app/service.jar
COPY --from=build /home/gradle/src/build/libs/*.jar /app/
ENTRYPOINT ["java","-jar","/app/service.jar"]
