/*
** fuzz_ledger.c -- the reader of sqlite_sluice_key values
** (replay/rp_aug.c rp__ledger_show), which replay reads back from a
** user's MariaDB table to name the source key that wrote a row: outside
** input, since anyone with access to the table can write the column.
**
** Checked beyond "no crash, no read outside the value": the text shown is
** NUL-terminated valid UTF-8 within its buffer; and a ledger made by
** rp__ledger from values cut out of the input is read back whole (every
** key column named).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rp.h"
#include "sl_utf8.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = { "a", "b", "c" };
    char out[1024];
    jr_value vals[3];
    jr_row key = { 3, names, vals };
    tg_str s = { 0 };
    size_t o = 0;

    rp__ledger_show(out, sizeof(out), &key, (const char *)data, size);
    CHECK(memchr(out, 0, sizeof(out)) != NULL);
    CHECK(sl_utf8_valid(out, strlen(out), 0));

    /* three values: a type byte each, then up to 8 bytes of payload */
    for (int k = 0; k < 3; k++) {
        size_t n = 0;
        vals[k].type = o < size ? data[o++] % 5 : JR_NULL;
        while (n < 8 && o + n < size)
            n++;
        if (vals[k].type == JR_INT || vals[k].type == JR_REAL) {
            uint64_t bits = 0;
            memcpy(&bits, data + o, n);
            if (vals[k].type == JR_INT)
                vals[k].u.i = (int64_t)bits;
            else
                memcpy(&vals[k].u.r, &bits, sizeof(double));
        } else {
            vals[k].u.b.p = data + o;
            vals[k].u.b.n = n;
        }
        o += n;
    }
    rp__ledger(&s, &key, &key);
    CHECK(!s.oom);
    rp__ledger_show(out, sizeof(out), &key, s.p ? s.p : "", s.len);
    CHECK(strstr(out, "c=") != NULL);
    tg_str_free(&s);
    return 0;
}
