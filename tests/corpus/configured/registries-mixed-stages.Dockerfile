FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish -c Release -o /out

FROM build-cache.internal.example.com/dotnet/aspnet:8.0 AS runtime-base
FROM ghcr.io/acme/dotnet-runtime:8.0.4
COPY --from=build /out /app
LABEL author="api team" contact="api@example.com" created="2024-04-30T10:00:00Z" version="3.0.0" \
      documentation="https://example.com/api" git-revision="89abcdef0123456789abcdef0123456789abcdef" license="MIT"
HEALTHCHECK CMD ["dotnet", "/app/health.dll"]
ENTRYPOINT ["dotnet", "/app/Api.dll"]
