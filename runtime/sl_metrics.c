/*
** sl_metrics.c -- /metrics over HTTP with libmicrohttpd (a well-kept
** Debian library: no hand-written HTTP parsing in sluice).
** INVARIANTS:
**  (M1) the HTTP thread reads only `text`, under `mu`; the main thread
**       replaces it under the same lock.
**  (M2) only GET /metrics (and /) answer 200; anything else is 404/405.
*/
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_metrics.h"

struct sl_metrics {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    char *text;
    size_t len;
    unsigned port;
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
    sl_metrics *m = cls;
    struct MHD_Response *r;
    enum MHD_Result ret;
    unsigned code = MHD_HTTP_OK;

    (void)version; (void)upload; (void)upload_size; (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        code = MHD_HTTP_METHOD_NOT_ALLOWED;
        r = MHD_create_response_from_buffer(0, (void *)"",
                                            MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0) {
        static const char nf[] = "not found: try /metrics\n";
        code = MHD_HTTP_NOT_FOUND;
        r = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        pthread_mutex_lock(&m->mu);
        r = MHD_create_response_from_buffer(m->len, m->text ? m->text : "",
                                            MHD_RESPMEM_MUST_COPY);
        pthread_mutex_unlock(&m->mu);
        if (r != NULL)
            MHD_add_response_header(r, "Content-Type",
                                    "text/plain; version=0.0.4; "
                                    "charset=utf-8");
    }
    if (r == NULL)
        return MHD_NO;
    ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

int sl_metrics_start(sl_metrics **out, const char *hostport, char *err,
                     size_t cap)
{
    struct sockaddr_storage ss;
    char host[128];
    const char *colon = strrchr(hostport, ':');
    char *end;
    long port;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    sl_metrics *m;
    const union MHD_DaemonInfo *info;

    *out = NULL;
    memset(&ss, 0, sizeof(ss));
    if (colon == NULL || colon == hostport ||
        (size_t)(colon - hostport) >= sizeof(host)) {
        snprintf(err, cap, "--metrics needs HOST:PORT (e.g. "
                 "127.0.0.1:9464), got '%s'", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    port = strtol(colon + 1, &end, 10);
    if (*end != 0 || port < 0 || port > 65535 || colon[1] == 0) {
        snprintf(err, cap, "--metrics port must be 0-65535, got '%s'",
                 colon + 1);
        return -1;
    }
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        host[strlen(host) - 1] = 0;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            goto badhost;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof(host), "127.0.0.1");
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            goto badhost;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->d = MHD_start_daemon(flags, (unsigned short)port, NULL, NULL, serve,
                            m, MHD_OPTION_SOCK_ADDR, &ss,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    if (m->d == NULL) {
        snprintf(err, cap, "cannot listen on %s for --metrics (in use, or "
                 "not an address of this machine)", hostport);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return -1;
    }
    info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : (unsigned)port;
    *out = m;
    return 0;
badhost:
    snprintf(err, cap, "--metrics host '%s' is not an IP address (use "
             "127.0.0.1, [::1] or 0.0.0.0)", host);
    return -1;
}

unsigned sl_metrics_port(const sl_metrics *m)
{
    return m->port;
}

void sl_metrics_publish(sl_metrics *m, const char *text, size_t len)
{
    char *copy;

    if (m == NULL || (copy = malloc(len + 1)) == NULL)
        return;
    memcpy(copy, text, len);
    copy[len] = 0;
    pthread_mutex_lock(&m->mu);
    free(m->text);
    m->text = copy;
    m->len = len;
    pthread_mutex_unlock(&m->mu);
}

void sl_metrics_stop(sl_metrics *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->d);
    pthread_mutex_destroy(&m->mu);
    free(m->text);
    free(m);
}
