#ifndef HELIOS_CSNDFILE_SHIM_H
#define HELIOS_CSNDFILE_SHIM_H
#include <sndfile.h>

/* sf_command is variadic-free but takes void*; typed wrappers keep Swift call sites honest. */
static inline int helios_sf_get_format_major(int format) { return format & SF_FORMAT_TYPEMASK; }
static inline int helios_sf_get_format_minor(int format) { return format & SF_FORMAT_SUBMASK; }
#endif
