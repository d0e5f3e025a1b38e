/*
** fuzz_pos.c -- capture's source position decoder (capture/cap_pos.c),
** the text a journal carries as its source position and sluice-verify's
** live mode reads back.
**
** Checked beyond "no crash, no leak": a refusal leaves the position empty
** and carries a message; an accepted text has entries sorted by id, ids
** above 0 and log ids of 0 or more, and its encoding decodes to the same
** position (decode(encode(p)) == p).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cap_pos.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cap_pos p = { 0, 0, NULL, -1 }, q = { 0, 0, NULL, -1 };
    jr_err e = { 0 };
    char *out;
    size_t len;

    if (cap_pos_decode(&p, (const char *)data, size, &e) != JR_OK) {
        CHECK(p.n == 0 && p.v == NULL && e.msg[0] != 0);
        return 0;
    }
    for (int i = 0; i < p.n; i++) {
        CHECK(p.v[i].id > 0 && p.v[i].log_id >= 0);
        CHECK(i == 0 || p.v[i - 1].id < p.v[i].id);
    }
    CHECK(cap_pos_encode(&p, &out, &len) == 0);
    CHECK(cap_pos_decode(&q, out, len, &e) == JR_OK);
    CHECK(q.n == p.n && q.schema_version == p.schema_version);
    for (int i = 0; i < p.n; i++)
        CHECK(memcmp(&p.v[i], &q.v[i], sizeof(p.v[i])) == 0);
    free(out);
    cap_pos_free(&p);
    cap_pos_free(&q);
    return 0;
}
