#ifndef HELIOS_CCURL_H
#define HELIOS_CCURL_H
/* libcurl, loaded when the first transfer needs it rather than at every start.

   helios links no libcurl: curl.h gives the types and constants, and helios_curl() opens
   libcurl.so.4 with dlopen the first time a command talks to a server (or reports versions).
   libcurl and the ~35 libraries it pulls in (TLS, Kerberos, LDAP, SSH, …) took 4 of the 7.5 ms
   every start cost, which `helios validate` in a shell loop and the speech check against
   `ffmpeg silencedetect` pay on every file. The package still depends on libcurl4
   (scripts/deb.sh adds it: dpkg-shlibdeps cannot see a dlopen). */
#include <curl/curl.h>

/* The libcurl functions helios calls, resolved together: all or none. */
typedef struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
    char *(*version)(void);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *handle);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *handle);
    CURLMcode (*multi_perform)(CURLM *multi, int *running);
    CURLMcode (*multi_poll)(CURLM *multi, struct curl_waitfd extra[], unsigned int count, int timeout_ms, int *ret);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_cleanup)(CURLM *multi);
} helios_curl_api;

/* libcurl's functions, loading it on the first call (thread-safe, once per process); NULL when
   it cannot be loaded or lacks one of them (curl_multi_poll needs 7.66.0): then
   helios_curl_load_error() says why. */
const helios_curl_api *helios_curl(void);
const char *helios_curl_load_error(void);

/* The file helios opens. */
#define HELIOS_CURL_LIBRARY "libcurl.so.4"

/* Every function below takes a handle, so helios_curl() has already succeeded. */
#define HELIOS_CURL (helios_curl())

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
   these typed wrappers are the only way the transport sets options. */
static inline CURLcode helios_curl_setopt_long(CURL *h, CURLoption o, long v) { return HELIOS_CURL->easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return HELIOS_CURL->easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return HELIOS_CURL->easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return HELIOS_CURL->easy_setopt(h, o, v); }
static inline CURLcode helios_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return HELIOS_CURL->easy_setopt(h, o, v); }

typedef size_t (*helios_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*helios_curl_seek_cb)(void *userdata, curl_off_t offset, int origin);
typedef int (*helios_curl_xferinfo_cb)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode helios_curl_setopt_write_cb(CURL *h, helios_curl_data_cb cb) { return HELIOS_CURL->easy_setopt(h, CURLOPT_WRITEFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_header_cb(CURL *h, helios_curl_data_cb cb) { return HELIOS_CURL->easy_setopt(h, CURLOPT_HEADERFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_read_cb(CURL *h, helios_curl_data_cb cb) { return HELIOS_CURL->easy_setopt(h, CURLOPT_READFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_seek_cb(CURL *h, helios_curl_seek_cb cb) { return HELIOS_CURL->easy_setopt(h, CURLOPT_SEEKFUNCTION, cb); }
static inline CURLcode helios_curl_setopt_xferinfo_cb(CURL *h, helios_curl_xferinfo_cb cb) { return HELIOS_CURL->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }

static inline CURLcode helios_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return HELIOS_CURL->easy_getinfo(h, i, v); }
static inline CURLcode helios_curl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return HELIOS_CURL->easy_getinfo(h, i, v); }
static inline CURLcode helios_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return HELIOS_CURL->easy_getinfo(h, i, v); }
static inline CURLcode helios_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return HELIOS_CURL->easy_getinfo(h, i, v); }

static inline void helios_curl_easy_cleanup(CURL *h) { HELIOS_CURL->easy_cleanup(h); }
static inline const char *helios_curl_easy_strerror(CURLcode code) { return HELIOS_CURL->easy_strerror(code); }
/* With a list (or after a handle exists) libcurl is loaded; a NULL list needs nothing freed. */
static inline void helios_curl_slist_free_all(struct curl_slist *list) { if (list) HELIOS_CURL->slist_free_all(list); }
static inline struct curl_slist *helios_curl_slist_append(struct curl_slist *list, const char *s) {
    const helios_curl_api *api = helios_curl();
    return api ? api->slist_append(list, s) : NULL;
}

/* curl_easy_perform through a private multi handle, so the wait for the network wakes every
   poll_ms to ask should_stop(ctx): an interruption takes effect within that even while the
   server sends nothing (curl's progress callback can go a whole second between calls then).
   *stopped is set when should_stop ended the transfer. */
typedef int (*helios_curl_stop_cb)(void *ctx);
static inline CURLcode helios_curl_perform_polling(CURL *easy, int poll_ms, helios_curl_stop_cb should_stop, void *ctx, int *stopped) {
    const helios_curl_api *curl = HELIOS_CURL;
    *stopped = 0;
    CURLM *multi = curl->multi_init();
    if (!multi) return curl->easy_perform(easy);
    if (curl->multi_add_handle(multi, easy) != CURLM_OK) {
        curl->multi_cleanup(multi);
        return curl->easy_perform(easy);
    }
    CURLcode result = CURLE_OK;
    int running = 1;
    while (running) {
        if (curl->multi_perform(multi, &running) != CURLM_OK) { result = CURLE_FAILED_INIT; break; }
        if (!running) break;
        if (should_stop(ctx)) { *stopped = 1; result = CURLE_ABORTED_BY_CALLBACK; break; }
        if (curl->multi_poll(multi, NULL, 0, poll_ms, NULL) != CURLM_OK) { result = CURLE_FAILED_INIT; break; }
    }
    if (!*stopped && result == CURLE_OK) {
        int left = 0;
        CURLMsg *msg;
        while ((msg = curl->multi_info_read(multi, &left))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) result = msg->data.result;
        }
    }
    curl->multi_remove_handle(multi, easy);
    curl->multi_cleanup(multi);
    return result;
}

static const size_t HELIOS_CURL_READFUNC_ABORT = CURL_READFUNC_ABORT;
static const int HELIOS_CURL_SEEKFUNC_OK = CURL_SEEKFUNC_OK;
static const int HELIOS_CURL_SEEKFUNC_FAIL = CURL_SEEKFUNC_FAIL;
#endif
