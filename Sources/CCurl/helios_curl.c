#include "helios_curl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static helios_curl_api api;
static const helios_curl_api *loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Opens libcurl and resolves every function, then runs curl_global_init, which must precede any
   handle and is not thread-safe itself (pthread_once makes it run once). */
static void load(void) {
    void *library = dlopen(HELIOS_CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "%s", why ? why : HELIOS_CURL_LIBRARY ": cannot be loaded");
        return;
    }
    const char *missing = NULL;
#define RESOLVE(field, name) \
    do { \
        void *symbol = dlsym(library, name); \
        if (!symbol && !missing) missing = name; \
        memcpy(&api.field, &symbol, sizeof symbol); \
    } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(version, "curl_version");
    RESOLVE(multi_init, "curl_multi_init");
    RESOLVE(multi_add_handle, "curl_multi_add_handle");
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(multi_perform, "curl_multi_perform");
    RESOLVE(multi_poll, "curl_multi_poll");
    RESOLVE(multi_info_read, "curl_multi_info_read");
    RESOLVE(multi_cleanup, "curl_multi_cleanup");
#undef RESOLVE
    if (missing) {
        snprintf(load_error, sizeof load_error, "%s has no %s (libcurl 7.66.0 or later is needed)", HELIOS_CURL_LIBRARY, missing);
        return;
    }
    CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed: %s", api.easy_strerror(code));
        return;
    }
    loaded = &api;
}

const helios_curl_api *helios_curl(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *helios_curl_load_error(void) {
    pthread_once(&once, load);
    return loaded ? NULL : load_error;
}
