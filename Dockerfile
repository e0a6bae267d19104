# One image, two roles: the default command serves HTTP + WebSocket with daphne; override the
# command to run workers (python manage.py rundramatiq --queues ...). Configure with env vars
# (README "Configuration"). Build: docker build -t annotator .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=annotator.settings VENV=/opt/venv PATH=/opt/venv/bin:$PATH

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libgl1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 annotator

WORKDIR /app
# Dependencies first (cached layer): the same install script the README commands use.
COPY requirements.txt requirements-dev.txt requirements-sam2.txt ./
COPY scripts/install.sh scripts/install.sh
RUN PYTHON=python3 VENV=/opt/venv ./scripts/install.sh && rm -rf /root/.cache

COPY . .
# Static files are collected at build time; SECRET_KEY here is a throwaway for the build only.
RUN SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput \
 && mkdir -p /app/data && chown -R annotator /app/data

USER annotator
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "annotator.asgi:application"]
