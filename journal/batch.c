/*
** batch.c -- the stored unit of the log: a checksummed, compressed run of
** consecutive records, keyed in LMDB by the big-endian seq of its first
** record (as Kafka's record batches are). Measured in tools/bench: zstd
** over ~64 records stores well under half the bytes of the raw encoding,
** while zstd per record saves little and costs a lot.
**
** INVARIANTS:
**  (B1) a batch is verified (magic, version, lengths, CRC-32C over header
**       and stored payload, first_seq == LMDB key) before any byte of its
**       payload is decoded; a bad batch is JR_ECORRUPT naming its seq.
**  (B2) the decompressed size must equal raw_len exactly; before anything
**       is allocated for it, raw_len must be plausible: at least
**       JR_REC_MIN bytes per record, at most what zstd can expand the
**       stored bytes to (128 KiB per 4-byte block), and (zstd) equal to
**       the frame's declared content size.
*/
#include <string.h>
#include <zstd.h>

#include "jr_internal.h"

int jr__batch_verify(const void *data, size_t len, uint64_t key_seq,
                     jr__batch_hdr *h, jr_err *err)
{
    const unsigned char *p = data;
    uint32_t crc;

    if (len < JR_BATCH_HDR || memcmp(p, JR_BATCH_MAGIC, 4) != 0)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "verify",
                          "seq %llu: stored entry has no batch header",
                          (unsigned long long)key_seq);
    h->version = p[4];
    h->codec = p[5];
    h->count = (unsigned)p[6] | (unsigned)p[7] << 8;
    h->first_seq = jr__get_le64(p + 8);
    h->raw_len = jr__get_le32(p + 16);
    h->stored_len = jr__get_le32(p + 20);
    h->time_us = (int64_t)jr__get_le64(p + 24);
    if (h->version != JR_FORMAT_VERSION)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "verify",
                          "seq %llu: unknown batch format version %u",
                          (unsigned long long)key_seq, h->version);
    if ((uint64_t)h->stored_len + JR_BATCH_HDR != len)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "verify",
                          "seq %llu: batch length %zu does not match header",
                          (unsigned long long)key_seq, len);
    crc = jr__crc32c(0, p, 32);
    crc = jr__crc32c(crc, p + JR_BATCH_HDR, h->stored_len);
    if (crc != jr__get_le32(p + 32))
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "verify",
                          "seq %llu: checksum mismatch (stored %08x, "
                          "computed %08x)", (unsigned long long)key_seq,
                          jr__get_le32(p + 32), crc);
    if (h->first_seq != key_seq || h->count == 0 ||
        (h->codec != JR_CODEC_RAW && h->codec != JR_CODEC_ZSTD) ||
        (h->codec == JR_CODEC_RAW && h->raw_len != h->stored_len) ||
        (uint64_t)h->raw_len < (uint64_t)h->count * JR_REC_MIN ||
        (uint64_t)h->raw_len > (uint64_t)h->stored_len * 32768 + 131072)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "verify",
                          "seq %llu: inconsistent batch header",
                          (unsigned long long)key_seq);
    if (h->codec == JR_CODEC_ZSTD &&
        ZSTD_getFrameContentSize(p + JR_BATCH_HDR, h->stored_len) !=
            (unsigned long long)h->raw_len)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "verify",
                          "seq %llu: zstd frame does not hold the %u bytes "
                          "the batch header announces",
                          (unsigned long long)key_seq, h->raw_len);
    return JR_OK;
}

int jr__batch_payload(const void *data, const jr__batch_hdr *h,
                      jr__buf *out, void **dctx, uint64_t key_seq,
                      jr_err *err)
{
    const unsigned char *src = (const unsigned char *)data + JR_BATCH_HDR;
    size_t n;

    out->len = 0;
    if (jr__buf_reserve(out, h->raw_len) != 0)
        return jr__err_oom(err);
    if (h->codec == JR_CODEC_RAW) {
        memcpy(out->p, src, h->raw_len);
        out->len = h->raw_len;
        return JR_OK;
    }
    if (*dctx == NULL && (*dctx = ZSTD_createDCtx()) == NULL)
        return jr__err_oom(err);
    n = ZSTD_decompressDCtx(*dctx, out->p, h->raw_len, src, h->stored_len);
    if (ZSTD_isError(n) || n != h->raw_len)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_ZSTD,
                          ZSTD_isError(n) ? (int)(0 - n) : 0,
                          "ZSTD_decompressDCtx",
                          "seq %llu: cannot decompress batch: %s",
                          (unsigned long long)key_seq,
                          ZSTD_isError(n) ? ZSTD_getErrorName(n)
                          : "size mismatch");
    out->len = n;
    return JR_OK;
}

void jr__dctx_free(void *dctx)
{
    ZSTD_freeDCtx(dctx);
}

int jr__batch_build(jr__buf *out, const void *raw, size_t raw_len,
                    unsigned count, uint64_t first_seq, int64_t time_us,
                    int level, void **cctx, jr_err *err)
{
    unsigned char *h;
    size_t stored;
    unsigned codec = JR_CODEC_RAW;

    if (raw_len > UINT32_MAX - JR_BATCH_HDR || count == 0 || count > 65535)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                          "batch too large (%zu bytes, %u records)",
                          raw_len, count);
    out->len = 0;
    if (jr__buf_reserve(out, JR_BATCH_HDR + ZSTD_compressBound(raw_len)))
        return jr__err_oom(err);
    stored = raw_len;
    if (level >= 0) {
        size_t n;
        if (*cctx == NULL && (*cctx = ZSTD_createCCtx()) == NULL)
            return jr__err_oom(err);
        n = ZSTD_compressCCtx(*cctx, out->p + JR_BATCH_HDR,
                              out->cap - JR_BATCH_HDR, raw, raw_len,
                              level == 0 ? 1 : level);
        if (ZSTD_isError(n))
            return jr_err_set(err, JR_ERR, 0, JR_D_ZSTD, (int)(0 - n),
                              "ZSTD_compressCCtx", "zstd: %s",
                              ZSTD_getErrorName(n));
        if (n < raw_len) {           /* keep raw when zstd does not help */
            codec = JR_CODEC_ZSTD;
            stored = n;
        }
    }
    if (codec == JR_CODEC_RAW)
        memcpy(out->p + JR_BATCH_HDR, raw, raw_len);
    h = out->p;
    memcpy(h, JR_BATCH_MAGIC, 4);
    h[4] = JR_FORMAT_VERSION;
    h[5] = (unsigned char)codec;
    h[6] = (unsigned char)count;
    h[7] = (unsigned char)(count >> 8);
    jr__put_le64(h + 8, first_seq);
    jr__put_le32(h + 16, (uint32_t)raw_len);
    jr__put_le32(h + 20, (uint32_t)stored);
    jr__put_le64(h + 24, (uint64_t)time_us);
    jr__put_le32(h + 32, jr__crc32c(jr__crc32c(0, h, 32),
                                    h + JR_BATCH_HDR, stored));
    jr__put_le32(h + 36, 0);
    out->len = JR_BATCH_HDR + stored;
    return JR_OK;
}

void jr__cctx_free(void *cctx)
{
    ZSTD_freeCCtx(cctx);
}
