#ifndef HELIOS_BUILD_INFO_H
#define HELIOS_BUILD_INFO_H

/* What `helios version --verbose` says of the build: the git commit, the build date and the
 * Swift compiler. `make` writes them into build_info_generated.h (git-ignored) before it builds;
 * a plain `swift build` has none and says "unknown". */
const char *helios_build_commit(void);
const char *helios_build_date(void);
const char *helios_build_swift(void);

#endif
