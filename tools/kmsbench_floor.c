/*
 * The bare-HTTP floor: a libmicrohttpd server started with the flags, pool
 * size and limits kmsd's server/server_http.c uses (internal epoll thread
 * pool sized to the cores, MHD_USE_TURBO, the same connection and memory
 * limits), that reads each request body and answers a fixed JSON the size
 * of a 32-byte Encrypt response, with the same response headers as kmsd.
 * No header collection, no signature check, no crypto, no storage: what the
 * HTTP layer alone reaches on this machine with this client.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "tools/kmsbench.h"

struct kb_floor {
    struct MHD_Daemon *d;
};

/* Not const: MHD's buffer API takes void *, and PERSISTENT means never written. */
static char floor_body[] =
    "{\"CiphertextBlob\":\"AQICAHhHk0wSWs3jAw0Z8tcpC0d6p3OC+ktlyqSKxDSGrhNyrgHLyH2oRJcM1I7g7uNQ7eDmAAAAfjB8BgkqhkiG"
    "9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMmLWlr9Z3uXGTCyR5AgEQgDtEOVjFbcDaKb0xKuxT3C\","
    "\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\","
    "\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}";

static int marker; /* any non-NULL per-request state */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* read and drop */
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof floor_body - 1, floor_body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/x-amz-json-1.1");
    MHD_add_response_header(r, "x-amzn-RequestId", "00000000-0000-4000-8000-000000000000");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

core_result kb_floor_start(uint16_t port, unsigned threads, struct kb_floor **out, uint16_t *bound_port)
{
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct kb_floor *f = calloc(1, sizeof *f);
    ENSURE(f != NULL, ERR_NOMEM);
    f->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, 0, NULL, NULL, on_request, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CORE_MAX_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)CORE_MAX_CONNECTIONS_PER_IP,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CORE_CONNECTION_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(CORE_MAX_HEADER_BYTES + 16384),
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (f->d == NULL) {
        free(f);
        BAIL(ERR_IO);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = di ? di->port : port;
    *out = f;
    CORE_OK;
}

void kb_floor_stop(struct kb_floor *f)
{
    if (f == NULL) return;
    MHD_stop_daemon(f->d);
    free(f);
}
