# A LOCAL STAND-IN for the official python:3.11-slim image, for machines that reach no
# container registry (deploy/build-image.sh builds it only then). It is Debian bookworm's
# own Python 3.11 (3.11.2) on a debootstrap minbase, not the official image: it checks the
# application Dockerfile's own steps, entrypoint, user and program, not the official base.
ARG DEBIAN_IMAGE=localhost/newsbeam-stand-in/debian:bookworm
FROM ${DEBIAN_IMAGE}
ARG STANDS_IN_FOR=python:3.11-slim
LABEL org.opencontainers.image.title="newsbeam stand-in for ${STANDS_IN_FOR}" \
      org.opencontainers.image.description="Local stand-in built from Debian packages (debootstrap + python3); not the official ${STANDS_IN_FOR} image"
# What the official image offers and the application Dockerfile uses: `python` with venv
# and pip (Debian splits them out), ca-certificates, a UTF-8 locale.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev python-is-python3 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV LANG=C.UTF-8
CMD ["python3"]
