# The LMS web image; the Celery worker and beat run from the same image with another command.
# Build: docker build -t lms .   Run: see docker-compose.yml.

# Front-end packages (only when the project has a package.json): installed here so the
# Python image needs no Node.js. requirements.txt is listed so the COPY never matches nothing.
FROM node:20-slim AS assets
WORKDIR /app
COPY requirements.txt package*.json ./
RUN mkdir -p node_modules \
    && if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=3
WORKDIR /app

RUN groupadd --system lms \
    && useradd --system --gid lms --home-dir /app --no-create-home --shell /usr/sbin/nologin lms

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=assets /app/node_modules ./node_modules
COPY . .

# Static files are collected (hashed and compressed by WhiteNoise) into the image. The
# SECRET_KEY here exists only for this build step; the container gets the real one at run time.
RUN DEBUG=false \
    SECRET_KEY=build-time-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input --verbosity 0 \
    && mkdir -p /app/media-files \
    && chown -R lms:lms /app/media-files

USER lms
# 8000: gunicorn (HTTP, the default command); 8001: uvicorn (WebSockets), started with
#   uvicorn lms.asgi:application --host=0.0.0.0 --port=8001 --ws=websockets --proxy-headers
EXPOSE 8000 8001

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# WEB_CONCURRENCY sets the number of gunicorn workers (gunicorn reads it itself).
CMD ["gunicorn", "lms.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--max-requests", "1000", "--max-requests-jitter", "100", "--timeout", "30"]
