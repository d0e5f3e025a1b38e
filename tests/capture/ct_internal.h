/*
** ct_internal.h -- helpers shared by ct_model.c and ct_compare.c only
** (not for the test files).
*/
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

#include <stddef.h>

#include <sqlite3.h>

#include "ct_model.h"

/* Format into why (cap bytes); returns -1. */
int ct__fail(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* strdup/realloc that assert on OOM. */
char *ct__xstrdup(const char *s);
void *ct__xrealloc(void *p, size_t n);
/* sqlite3_exec; on failure describe it in why and return -1. */
int ct__exec(sqlite3 *db, const char *sql, char *why, size_t cap);
/* Exact equality: type, then value (reals by bits, text/blob by bytes). */
int ct__value_equal(const jr_value *a, const jr_value *b);
/* Column i of a stepped statement as a view (valid until the next step). */
void ct__col_value(sqlite3_stmt *s, int i, jr_value *v);
/* The rowid alias capture keys a keyless table by, NULL if none free. */
const char *ct__rowid_alias(char **cols, int ncols);
/* The model's database. */
sqlite3 *ct__model_db(ct_model *m);

#endif /* CT_INTERNAL_H */
