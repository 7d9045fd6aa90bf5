# One image per service: docker build --build-arg SERVICE=OrderService . (SERVICE=StripeSimulator
# builds the development Stripe simulator the same way: compose runs it when no Stripe key is given;
# it is never part of a service's image; SERVICE=WebConsole builds the web console, whose pages are
# its resource bundle).
#
# librdkafka comes from the distribution: the runtime is Debian trixie, whose librdkafka1 is
# 2.8.0 (bookworm's 2.0.2 is too old for the shim's version guard and cannot talk to every
# broker). The Swift toolchain image is bookworm-based, so the build stage compiles against
# trixie's librdkafka-dev and librdkafka1 packages, unpacked (never installed: that would
# upgrade libc under the toolchain) into /opt/rdkafka. The runtime image has no toolchain.

FROM swift:6.1-bookworm AS build
ARG SERVICE=OrderService
RUN printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        > /etc/apt/sources.list.d/trixie.sources \
    && printf 'Package: *\nPin: release n=trixie\nPin-Priority: -1\n' > /etc/apt/preferences.d/no-trixie \
    && apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev \
    && mkdir /tmp/debs && cd /tmp/debs \
    && apt-get download librdkafka-dev/trixie librdkafka1/trixie \
    && for deb in *.deb; do dpkg -x "$deb" /opt/rdkafka; done \
    && multiarch="$(gcc -dumpmachine | sed 's/-pc-/-/')" \
    && sed -i 's|^prefix=.*|prefix=/opt/rdkafka/usr|; s|^libdir=.*|libdir=/opt/rdkafka/usr/lib/'"$multiarch"'|' \
        "/opt/rdkafka/usr/lib/$multiarch/pkgconfig/rdkafka.pc" \
    && ln -s "/opt/rdkafka/usr/lib/$multiarch/pkgconfig" /opt/rdkafka/pkgconfig \
    && rm -rf /tmp/debs /var/lib/apt/lists/* /etc/apt/sources.list.d/trixie.sources
ENV PKG_CONFIG_PATH=/opt/rdkafka/pkgconfig
WORKDIR /src
COPY Package.swift ./
RUN swift package resolve
COPY Shared Shared
COPY Services Services
COPY Tools Tools
COPY Tests Tests
COPY Benchmarks Benchmarks
# Resource bundles (migrations, OpenAPI documents) sit next to the binary; the simulator has none.
RUN RDKAFKA_PREFIX="$(pkg-config --variable=prefix rdkafka)" swift build -c release --product "$SERVICE" --static-swift-stdlib \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir /staging \
    && cp "$bin/$SERVICE" /staging/service \
    && find "$bin" -maxdepth 1 -name '*.resources' -exec cp -R {} /staging/ \;

FROM debian:trixie-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libssl3t64 zlib1g libzstd1 liblz4-1 libstdc++6 \
        ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 app
COPY --from=build /staging /app
# Two malloc arenas instead of glibc's eight per core: the services' threads otherwise spread
# their allocations over many arenas, and resident memory kept rising over a 10-minute load
# (README, "End-to-end load"); the same load was as fast with two.
ENV APP_ENV=production LOG_FORMAT=json MALLOC_ARENA_MAX=2
USER app
WORKDIR /app
ENTRYPOINT ["/app/service"]
