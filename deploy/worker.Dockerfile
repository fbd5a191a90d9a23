# Worker (SDK harness) image for clusters: Flink, Spark or Dataflow run the
# pipeline's Python steps in containers of this image. It is Beam's own Python
# SDK image (its entrypoint is Beam's boot program, not `newsbeam`) with
# newsbeam installed; the Beam and Python versions must match the submitting
# environment that submits the job. Build from the repository root:
#   docker build -f deploy/worker.Dockerfile \
#     --build-arg BEAM_VERSION="$(python -c 'import apache_beam; print(apache_beam.__version__)')" \
#     -t REGISTRY/newsbeam-worker:0.1.0 .
ARG BEAM_VERSION=2.78.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}
COPY pyproject.toml README.md setup.py /src/
COPY newsbeam /src/newsbeam
COPY pipelines /src/pipelines
COPY transforms /src/transforms
COPY schemas /src/schemas
RUN pip install --no-cache-dir "/src[all]" && rm -rf /src
