/*
** br_sql.c -- the C loader's statement text: TSV lines (as export and
** changes write them) turned into SQL tuples with escaped literals, and
** the ON DUPLICATE KEY UPDATE clause.
** INVARIANTS:
**  (Q1) columns 0, 1 and 4 (id, customer_id, amount) go out as they are
**       (numbers); every other field as a quoted literal escaped by the
**       connection (mysql_real_escape_string), \N as NULL.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "br.h"

char *br_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *p;

    if (f == NULL || fstat(fileno(f), &sb) != 0)
        bu_die("%s: %s", path, strerror(errno));
    p = bu_xmalloc((size_t)sb.st_size + 1);
    if (fread(p, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
        bu_die("%s: short read", path);
    fclose(f);
    p[sb.st_size] = 0;
    *len = (size_t)sb.st_size;
    return p;
}

/* Append the SQL literal of TSV field i ([p, end), unescaped in place). */
static void sql_value(br_buf *b, MYSQL *db, int i, char *p, char *end)
{
    long n = br_tsv_unescape(p, end);

    if (n < 0) {
        br_buf_adds(b, "NULL");
    } else if (i == 0 || i == 1 || i == 4) {      /* numbers: as they are */
        br_buf_add(b, p, (size_t)n);
    } else {
        br_buf_need(b, 2 * (size_t)n + 2);
        b->p[b->len++] = '\'';
        b->len += mysql_real_escape_string(db, b->p + b->len, p,
                                           (unsigned long)n);
        b->p[b->len++] = '\'';
        b->p[b->len] = 0;
    }
}

const char br_odku[] =
    " ON DUPLICATE KEY UPDATE customer_id = VALUES(customer_id), "
    "status = VALUES(status), email = VALUES(email), amount = "
    "VALUES(amount), meta = VALUES(meta), note = VALUES(note), "
    "created_at = VALUES(created_at)";

/* One line "f0\tf1...\tf7" -> "(v0, ..., v7)" appended to b. */
void br_sql_tuple(br_buf *b, MYSQL *db, char *line, char *eol)
{
    char *p = line;
    br_buf_adds(b, "(");
    for (int i = 0; i < BR_NCOLS; i++) {
        char *e = i < BR_NCOLS - 1 ? memchr(p, '\t', (size_t)(eol - p)) : eol;
        if (e == NULL)
            bu_die("short TSV line: %.80s", line);
        if (i)
            br_buf_adds(b, ", ");
        sql_value(b, db, i, p, e);
        p = e + 1;
    }
    br_buf_adds(b, ")");
}
