/*
** sl_json.h -- a small strict JSON reader (RFC 8259) for the schema
** descriptions capture writes. Builds a tree; one allocation per node.
*/
#ifndef SLUICE_SL_JSON_H
#define SLUICE_SL_JSON_H

#include <stddef.h>
#include <stdint.h>

enum { SL_JNULL, SL_JFALSE, SL_JTRUE, SL_JNUM, SL_JSTR, SL_JARR, SL_JOBJ };

typedef struct sl_json {
    int type;
    char *key;               /* member name inside an object, else NULL */
    char *str;               /* SL_JSTR: decoded UTF-8, NUL-terminated */
    size_t len;              /* SL_JSTR length in bytes */
    double num;              /* SL_JNUM */
    struct sl_json *child;   /* SL_JARR/SL_JOBJ: first element */
    struct sl_json *next;    /* next sibling */
} sl_json;

/* Parse n bytes. Returns the root or NULL with a message in errbuf. */
sl_json *sl_json_parse(const char *s, size_t n, char *errbuf, size_t cap);
void sl_json_free(sl_json *j);                       /* NULL-safe */

/* Member `key` of an object, or NULL. */
const sl_json *sl_json_get(const sl_json *obj, const char *key);
/* String value of member `key`, or NULL if absent / not a string. */
const char *sl_json_str(const sl_json *obj, const char *key);
/* Truthiness of member `key` (true only for JSON true). */
int sl_json_bool(const sl_json *obj, const char *key);
/* Number of elements of an array/object. */
size_t sl_json_len(const sl_json *j);

#endif
