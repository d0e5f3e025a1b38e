/*
** make_seeds.c -- writes the seed corpus of fuzz_journal into DIR:
** encoded records of every kind and value type, as a raw payload and as
** stored batches (raw and zstd), in fuzz_journal's input format (a mode
** byte, then the bytes). Run once; its output is committed under
** tests/fuzz/corpus/journal/ (regenerate only on purpose).
**   fuzz_make_seeds tests/fuzz/corpus/journal
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jr_internal.h"

static void save(const char *dir, const char *name, unsigned char mode,
                 const void *p, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(&mode, 1, 1, f) != 1 ||
        fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const char *const names[] = { "id", "txt", "real", "blob", "nul",
                                         "neg" };
    static const char schema[] =
        "{\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"INTEGER\","
        "\"notnull\":false,\"pk\":1,\"generated\":false}],\"key\":[\"id\"],"
        "\"rowid_key\":false,\"rowid_name\":null,\"unique\":[],"
        "\"without_rowid\":false,\"strict\":false,\"sql\":\"CREATE TABLE "
        "t(id INTEGER PRIMARY KEY)\"}";
    jr__buf raw = { 0 }, one = { 0 }, b = { 0 };
    jr_value v[6];
    void *cctx = NULL;
    unsigned count = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
        return 64;
    }
    memset(v, 0, sizeof(v));
    v[0].type = JR_INT;
    v[0].u.i = 300;
    v[1].type = JR_TEXT;
    v[1].u.b.p = "caf\xc3\xa9 \"x\"";
    v[1].u.b.n = 10;
    v[2].type = JR_REAL;
    v[2].u.r = 0.1;
    v[3].type = JR_BLOB;
    v[3].u.b.p = "\0\xff\x80";
    v[3].u.b.n = 3;
    v[4].type = JR_NULL;
    v[5].type = JR_INT;
    v[5].u.i = INT64_MIN;
    for (int kind = JR_K_INSERT; kind <= JR_K_ABORT; kind++) {
        jr_record r;
        memset(&r, 0, sizeof(r));
        r.kind = kind;
        r.table = kind == JR_K_ABORT ? "" : "t";
        r.time_us = 1700000000123456LL;
        if (kind <= JR_K_DELETE) {
            r.key.n = 1;
            r.key.names = names;
            r.key.vals = v;
        }
        if (kind == JR_K_INSERT || kind == JR_K_UPDATE) {
            r.new_row.n = 6;
            r.new_row.names = names;
            r.new_row.vals = v;
        }
        if (kind == JR_K_UPDATE || kind == JR_K_DELETE) {
            r.old_row.n = 2;
            r.old_row.names = names;
            r.old_row.vals = v;
        }
        if (kind == JR_K_SCHEMA) {
            r.aux = schema;
            r.aux_len = sizeof(schema) - 1;
        }
        one.len = 0;
        if (jr__rec_encode(&raw, &r, count, kind == JR_K_ABORT, NULL) ||
            jr__rec_encode(&one, &r, 0, 1, NULL))
            return 1;
        count++;
        {
            char name[64];
            snprintf(name, sizeof(name), "seed-record-%s", jr_kind_name(kind));
            save(argv[1], name, 2, one.p, one.len);
        }
    }
    save(argv[1], "seed-payload-all-kinds", 2, raw.p, raw.len);
    if (jr__batch_build(&b, raw.p, raw.len, count, 1, 1700000000000000LL, -1,
                        &cctx, NULL))
        return 1;
    save(argv[1], "seed-batch-raw", 0, b.p, b.len);
    save(argv[1], "seed-batch-raw-fixcrc", 1, b.p, b.len);
    if (jr__batch_build(&b, raw.p, raw.len, count, 42, 1700000000000000LL, 3,
                        &cctx, NULL))
        return 1;
    save(argv[1], "seed-batch-zstd", 0, b.p, b.len);
    save(argv[1], "seed-batch-zstd-fixcrc", 1, b.p, b.len);
    jr__buf_free(&raw);
    jr__buf_free(&one);
    jr__buf_free(&b);
    jr__cctx_free(cctx);
    return 0;
}
