/*
** fuzz_journal.c -- the journal's batch and record decoder: what a reader
** does with a stored LMDB value (jr__batch_verify: magic, version,
** lengths, CRC-32C; jr__batch_payload: the zstd frame; jr__rec_decode:
** every record), on arbitrary bytes.
**
** Input: byte 0 selects the mode, the rest is the data.
**   bit 0 set   the data is a stored batch; its CRC-32C is recomputed
**               first (when its lengths allow) so mutations get past the
**               checksum into the header checks, zstd and the records;
**   bit 0 clear the data is a stored batch taken as is (checksum first);
**               either way the LMDB key is the header's first seq;
**   bit 1 set   the data is a raw payload (records only, no batch).
** Checked beyond "no crash" (codec.c C2, batch.c B1/B2): a verified
** batch's header is consistent and its payload has exactly raw_len bytes;
** every record that decodes re-encodes (jr__rec_encode) to one that
** decodes to the same record (C1); a raw rebuild of a fully decodable
** payload verifies.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jr_internal.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int value_eq(const jr_value *a, const jr_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JR_INT:
        return a->u.i == b->u.i;
    case JR_REAL:
        return memcmp(&a->u.r, &b->u.r, sizeof(double)) == 0;
    case JR_TEXT:
    case JR_BLOB:
        return a->u.b.n == b->u.b.n &&
               (a->u.b.n == 0 || memcmp(a->u.b.p, b->u.b.p, a->u.b.n) == 0);
    default:
        return 1;
    }
}

static int row_eq(const jr_row *a, const jr_row *b)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) != 0 ||
            !value_eq(&a->vals[i], &b->vals[i]))
            return 0;
    return 1;
}

static int rec_eq(const jr_entry *a, const jr_entry *b)
{
    return a->rec.kind == b->rec.kind && a->rec.time_us == b->rec.time_us &&
           strcmp(a->rec.table, b->rec.table) == 0 &&
           a->group == b->group && a->group_end == b->group_end &&
           row_eq(&a->rec.key, &b->rec.key) &&
           row_eq(&a->rec.new_row, &b->rec.new_row) &&
           row_eq(&a->rec.old_row, &b->rec.old_row) &&
           a->rec.aux_len == b->rec.aux_len &&
           (a->rec.aux_len == 0 ||
            memcmp(a->rec.aux, b->rec.aux, a->rec.aux_len) == 0);
}

/* Re-encode e and decode it again: the same record (C1). */
static void roundtrip(const jr_entry *e)
{
    jr__buf b = { 0 };
    jr__dec d = { 0 };
    jr_entry e2;
    const unsigned char *p;
    int rc;

    rc = jr__rec_encode(&b, &e->rec, e->seq - e->group, e->group_end, NULL);
    if (rc == JR_OK) {
        memset(&e2, 0, sizeof(e2));
        e2.seq = e->seq;
        p = b.p;
        rc = jr__rec_decode(&d, &p, b.p + b.len, &e2, NULL);
        CHECK(rc == JR_OK);
        CHECK(p == b.p + b.len);
        CHECK(rec_eq(e, &e2));
    } else {
        /* only what the encoder refuses by contract: names are C strings
        ** (a decoded name holds no NUL before its end, so never that) */
        CHECK(rc == JR_ERR || rc == JR_ECORRUPT);
    }
    jr__dec_free(&d);
    jr__buf_free(&b);
}

/* Decode count records (0: as many as there are) from payload; returns
** how many decoded. */
static unsigned decode_all(const unsigned char *p, size_t n, uint64_t first,
                           unsigned count)
{
    const unsigned char *end;
    jr__dec d = { 0 };
    unsigned got = 0;

    if (n == 0)
        return 0;
    end = p + n;

    while (p < end && (count == 0 || got < count)) {
        jr_entry e;
        memset(&e, 0, sizeof(e));
        e.seq = first + got;
        if (jr__rec_decode(&d, &p, end, &e, NULL) != JR_OK)
            break;
        CHECK(e.group >= 1 && e.group <= e.seq);
        CHECK(e.rec.table != NULL);
        roundtrip(&e);
        got++;
    }
    jr__dec_free(&d);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf;
    jr__batch_hdr h;
    jr__buf payload = { 0 }, rebuilt = { 0 };
    void *dctx = NULL, *cctx = NULL;
    uint64_t key;
    size_t n;

    if (size < 1)
        return 0;
    n = size - 1;
    buf = malloc(n + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, n);
    if (data[0] & 2) {
        decode_all(buf, n, 1 + (n % 1000), 0);
        free(buf);
        return 0;
    }
    key = n >= 16 ? jr__get_le64(buf + 8) : 1;
    if ((data[0] & 1) && n >= JR_BATCH_HDR) {
        uint32_t stored = jr__get_le32(buf + 20);
        if ((uint64_t)stored + JR_BATCH_HDR <= n) {
            n = JR_BATCH_HDR + stored;       /* the length must match */
            jr__put_le32(buf + 32, jr__crc32c(jr__crc32c(0, buf, 32),
                                              buf + JR_BATCH_HDR, stored));
        }
    }
    if (jr__batch_verify(buf, n, key, &h, NULL) == JR_OK) {
        CHECK(h.count >= 1 && h.first_seq == key);
        CHECK((uint64_t)h.stored_len + JR_BATCH_HDR == n);
        if (jr__batch_payload(buf, &h, &payload, &dctx, key, NULL) == JR_OK) {
            unsigned got;
            CHECK(payload.len == h.raw_len);
            got = decode_all(payload.p, payload.len, key, h.count);
            /* a raw rebuild of a fully decodable payload verifies */
            if (got == h.count &&
                jr__batch_build(&rebuilt, payload.p, payload.len, h.count,
                                key, h.time_us, -1, &cctx, NULL) == JR_OK) {
                jr__batch_hdr h2;
                CHECK(jr__batch_verify(rebuilt.p, rebuilt.len, key, &h2,
                                       NULL) == JR_OK);
                CHECK(h2.count == h.count && h2.raw_len == h.raw_len);
            }
        }
    }
    jr__buf_free(&payload);
    jr__buf_free(&rebuilt);
    jr__dctx_free(dctx);
    jr__cctx_free(cctx);
    free(buf);
    return 0;
}
