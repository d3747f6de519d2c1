# One image for web, worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LIMBER_INSTANCE_PATH=/var/lib/limber
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY plans ./plans
COPY pdf ./pdf
COPY workers ./workers
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/limber limber \
    && mkdir -p /var/lib/limber && chown limber /var/lib/limber
USER limber
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-", \
     "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s\" %(s)s %(b)s %(L)s", "service.wsgi:app"]
