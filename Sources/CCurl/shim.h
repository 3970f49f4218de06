#ifndef HELIOS_CCURL_SHIM_H
#define HELIOS_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
   these typed wrappers are the only way the transport sets options. */
static inline CURLcode helios_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*helios_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*helios_curl_seek_cb)(void *userdata, curl_off_t offset, int origin);
typedef int (*helios_curl_xferinfo_cb)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode helios_curl_setopt_write_cb(CURL *h, helios_curl_data_cb cb) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_header_cb(CURL *h, helios_curl_data_cb cb) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_read_cb(CURL *h, helios_curl_data_cb cb) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_seek_cb(CURL *h, helios_curl_seek_cb cb) { return curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_xferinfo_cb(CURL *h, helios_curl_xferinfo_cb cb) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }

static inline CURLcode helios_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode helios_curl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode helios_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode helios_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

/* curl_easy_perform through a private multi handle, so the wait for the network wakes every
   poll_ms to ask should_stop(ctx): an interruption takes effect within that even while the
   server sends nothing (curl's progress callback can go a whole second between calls then).
   *stopped is set when should_stop ended the transfer. */
typedef int (*helios_curl_stop_cb)(void *ctx);
static inline CURLcode helios_curl_perform_polling(CURL *easy, int poll_ms, helios_curl_stop_cb should_stop, void *ctx, int *stopped) {
    *stopped = 0;
    CURLM *multi = curl_multi_init();
    if (!multi) return curl_easy_perform(easy);
    if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
        curl_multi_cleanup(multi);
        return curl_easy_perform(easy);
    }
    CURLcode result = CURLE_OK;
    int running = 1;
    while (running) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) { result = CURLE_FAILED_INIT; break; }
        if (!running) break;
        if (should_stop(ctx)) { *stopped = 1; result = CURLE_ABORTED_BY_CALLBACK; break; }
        if (curl_multi_poll(multi, NULL, 0, poll_ms, NULL) != CURLM_OK) { result = CURLE_FAILED_INIT; break; }
    }
    if (!*stopped && result == CURLE_OK) {
        int left = 0;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) result = msg->data.result;
        }
    }
    curl_multi_remove_handle(multi, easy);
    curl_multi_cleanup(multi);
    return result;
}

static const size_t HELIOS_CURL_READFUNC_ABORT = CURL_READFUNC_ABORT;
static const int HELIOS_CURL_SEEKFUNC_OK = CURL_SEEKFUNC_OK;
static const int HELIOS_CURL_SEEKFUNC_FAIL = CURL_SEEKFUNC_FAIL;
#endif
