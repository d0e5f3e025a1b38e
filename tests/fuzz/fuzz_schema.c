/*
** fuzz_schema.c -- the SCHEMA record reader: replay turns the JSON of a
** SCHEMA record (journal/FORMAT.md) into CREATE TABLE
** (tg_table_create_sql). Journal content is outside input: a damaged or
** hand-made journal must give an error or a statement, never a crash, and
** never SQL outside identifiers that the JSON could steer.
**
** Input: byte 0 = length of the table name (mod 80), the name, the JSON.
** Checked: the statement starts with CREATE TABLE IF NOT EXISTS and the
** table's quoted name; outside backtick-quoted identifiers it holds only
** the type map's keywords, digits and punctuation (no name text leaks
** out of its quotes).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Outside `...`, only [A-Z0-9_(), =] may appear. */
static void check_sql(const char *sql)
{
    int in = 0;

    for (const char *p = sql; *p; p++) {
        if (*p == '`') {
            if (in && p[1] == '`') {
                p++;                       /* doubled backtick inside */
                continue;
            }
            in = !in;
            continue;
        }
        if (in)
            continue;
        CHECK((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z' && 0) || strchr("_(), =", *p));
    }
    CHECK(!in);
}

/* The storage-class column replay adds for an untyped key is fixed text
** with lowercase and quotes: take it out before check_sql. */
static void drop_fixed(char *sql)
{
    static const char fixed[] = " CHARACTER SET ascii COLLATE ascii_bin NOT "
                                "NULL DEFAULT ''";
    char *p;

    while ((p = strstr(sql, fixed)) != NULL)
        memmove(p, p + sizeof(fixed) - 1, strlen(p + sizeof(fixed) - 1) + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char table[81], err[200], *sql;
    size_t k;

    if (size < 1)
        return 0;
    k = data[0] % 80;
    if (k > size - 1)
        k = size - 1;
    memcpy(table, data + 1, k);
    table[k] = 0;
    sql = tg_table_create_sql(table, (const char *)data + 1 + k,
                              size - 1 - k, err, sizeof(err));
    if (sql == NULL) {
        CHECK(err[0] != 0);
        return 0;
    }
    CHECK(strncmp(sql, "CREATE TABLE IF NOT EXISTS `", 28) == 0);
    /* the engine clause is fixed text with lowercase: check it, then the
    ** rest */
    {
        static const char tail[] = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                                   "COLLATE=utf8mb4_nopad_bin";
        size_t n = strlen(sql);
        CHECK(n > sizeof(tail) - 1 &&
              strcmp(sql + n - (sizeof(tail) - 1), tail) == 0);
        sql[n - (sizeof(tail) - 1)] = 0;
        drop_fixed(sql);
        check_sql(sql);
    }
    free(sql);
    return 0;
}
