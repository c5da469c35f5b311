# One image for web, worker and one-off commands. GPU workers use the same image on a
# host with the NVIDIA container runtime: the torch wheel ships its CUDA libraries.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml ./
RUN pip install "torch==2.14.1" "torchvision==0.29.1" \
    && pip install "$(python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml","rb"))["project"]["dependencies"]))')"

COPY . .
RUN useradd --create-home catalog && chown -R catalog /app
USER catalog
RUN DJANGO_SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["gunicorn", "-c", "python:config.gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--timeout", "120"]
