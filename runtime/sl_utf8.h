/*
** sl_utf8.h -- UTF-8 validation shared by replay (may a blob go into a
** text column?), inspect (print text as JSON or base64?) and verify.
*/
#ifndef SLUICE_SL_UTF8_H
#define SLUICE_SL_UTF8_H

#include <stddef.h>

/* 1 if p[0..n) is well-formed UTF-8 (no overlong forms, no surrogates,
** nothing above U+10FFFF); NUL bytes are allowed unless reject_nul. */
int sl_utf8_valid(const void *p, size_t n, int reject_nul);

#endif
