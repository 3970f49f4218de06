#ifndef HELIOS_CMPG123_SHIM_H
#define HELIOS_CMPG123_SHIM_H
/* libmpg123 decodes MP3 for helios directly (not through libsndfile) so that it can be told to
   be quiet. mpg123.h renames mpg123_param to mpg123_param2 with a macro Swift cannot see; these
   typed wrappers keep the call sites on the documented name. */
#include <mpg123.h>

static inline int helios_mpg123_add_flags(mpg123_handle *mh, long flags) {
    return mpg123_param(mh, MPG123_ADD_FLAGS, flags, 0.0);
}
static inline int helios_mpg123_remove_flags(mpg123_handle *mh, long flags) {
    return mpg123_param(mh, MPG123_REMOVE_FLAGS, flags, 0.0);
}
#endif
