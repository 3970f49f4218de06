#ifndef HELIOS_COPUS_SHIM_H
#define HELIOS_COPUS_SHIM_H
/* pkg-config opus puts /usr/include/opus on the include path. Only the decoder is used: WebM
   from browsers holds Opus packets, which libsndfile cannot read outside Ogg. */
#include <opus.h>
#endif
