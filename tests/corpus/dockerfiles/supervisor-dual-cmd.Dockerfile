FROM python:3.12.3-slim-bookworm
RUN pip install --no-cache-dir supervisor==4.2.5
COPY supervisord.conf /etc/supervisor/supervisord.conf
CMD supervisord -c /etc/supervisor/supervisord.conf
EXPOSE 9001
CMD ["supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]
