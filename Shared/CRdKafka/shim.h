#ifndef ESCROWMARKET_CRDKAFKA_SHIM_H
#define ESCROWMARKET_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>

// Debian bookworm's librdkafka 2.0.2 cannot talk to the broker we test against; refuse to build
// against it (it is what SwiftPM picks up when PKG_CONFIG_PATH is not set to the cached prefix).
#if RD_KAFKA_VERSION < 0x020800ff
#error "librdkafka >= 2.8.0 required: run scripts/dev deps and build with PKG_CONFIG_PATH set"
#endif

/// Produces one message with key, value, headers (ownership passes on success) and an opaque
/// token for the delivery report; a C wrapper because the variadic producev does not import.
static inline rd_kafka_resp_err_t em_produce(rd_kafka_t *rk, const char *topic,
                                             const void *key, size_t key_len,
                                             const void *value, size_t value_len,
                                             rd_kafka_headers_t *headers, void *opaque) {
    rd_kafka_vu_t vus[6];
    size_t n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC; vus[n].u.cstr = topic; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[n].u.i = RD_KAFKA_MSG_F_COPY; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_KEY; vus[n].u.mem.ptr = (void *)key; vus[n].u.mem.size = key_len; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE; vus[n].u.mem.ptr = (void *)value; vus[n].u.mem.size = value_len; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE; vus[n].u.ptr = opaque; n++;
    if (headers != NULL) { vus[n].vtype = RD_KAFKA_VTYPE_HEADERS; vus[n].u.headers = headers; n++; }
    rd_kafka_error_t *error = rd_kafka_produceva(rk, vus, n);
    if (error == NULL) return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    return code;
}

#endif
