# The meshbench CLI as an image: one static meshbench binary and nothing
# else, built by `make image` (see docs/release.md):
#
#   CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags ... -o <context>/meshbench ./cmd/meshbench
#
# No base image can be pulled on meshbench's machines, so the image starts
# FROM scratch and the binary is built on the host into the build context,
# which also holds an empty work/ directory: a scratch image has no
# directories of its own, and a run writes its folder (runs/<scenario>-<UTC
# time>) under the working directory, /work. The library scenarios are
# embedded in the binary, so
#
#   docker run --rm meshbench:dev run retry-storm --backend sim
#
# works as is; mount a host directory on /work/runs to keep the run folders
# (docs/release.md). The image is made for the sim backend; containers needs
# a Docker Engine, which the image does not reach.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="meshbench" \
      org.opencontainers.image.version="${VERSION}"
COPY meshbench /meshbench
COPY --chown=65532:65532 work /work
WORKDIR /work
ENV HOME=/work
USER 65532:65532
ENTRYPOINT ["/meshbench"]
CMD ["--help"]
