#include "build_info.h"

#if __has_include("build_info_generated.h")
#include "build_info_generated.h"
#endif

#ifndef HELIOS_BUILD_COMMIT
#define HELIOS_BUILD_COMMIT "unknown"
#endif
#ifndef HELIOS_BUILD_DATE
#define HELIOS_BUILD_DATE "unknown"
#endif
#ifndef HELIOS_BUILD_SWIFT
#define HELIOS_BUILD_SWIFT "unknown"
#endif

const char *helios_build_commit(void) { return HELIOS_BUILD_COMMIT; }
const char *helios_build_date(void) { return HELIOS_BUILD_DATE; }
const char *helios_build_swift(void) { return HELIOS_BUILD_SWIFT; }
