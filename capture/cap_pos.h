/*
** cap_pos.h -- capture's source position: the text capture commits as
** the journal's source position, atomically with the records it accounts
** for. A contract between sluice-capture (which writes it) and the tools
** that read it (sluice-verify's live mode); libc and jr_err only, its own
** small library (sluice_cappos), so a reader need not link the capture
** engine.
**
** Text form: "sluice-pos 1", then " sv=N" (the source's schema version as
** of the last reconcile, when known), then one " ID:LOGID:FLAGS" per
** installation, FLAGS a subset of "s" (initial snapshot journaled) and
** "d" (DROP journaled), e.g. "sluice-pos 1 sv=7 3:1042:s 4:0:sd".
*/
#ifndef SLUICE_CAP_POS_H
#define SLUICE_CAP_POS_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/journal.h"

/* What is journaled, per installation: the last drained log id, whether
** the initial snapshot is journaled, whether its DROP is journaled; and
** the source's schema version as of the last reconcile. */
typedef struct cap_posent {
    int64_t id;
    int64_t log_id;
    int snapshotted;
    int drop_done;
} cap_posent;

typedef struct cap_pos {
    int n, cap;
    cap_posent *v;               /* sorted by id */
    int64_t schema_version;      /* -1: unknown */
} cap_pos;

/* A cap_pos starts zeroed with schema_version -1 (or after cap_pos_free).
** Free its entries; it is empty again. */
void cap_pos_free(cap_pos *p);
cap_posent *cap_pos_find(cap_pos *p, int64_t id);    /* NULL if absent */
cap_posent *cap_pos_get(cap_pos *p, int64_t id);     /* adds; NULL: OOM */
void cap_pos_remove(cap_pos *p, int64_t id);
/* *out malloc'd text, *len its length. 0, or -1 out of memory. */
int cap_pos_encode(const cap_pos *p, char **out, size_t *len);
/* Parse the text form, all or nothing. JR_OK, or JR_ERR with err set
** (not a capture position, or out of memory). */
int cap_pos_decode(cap_pos *p, const char *s, size_t len, jr_err *err);
/* 0, or -1 out of memory (dst is then empty). */
int cap_pos_copy(cap_pos *dst, const cap_pos *src);

#endif /* SLUICE_CAP_POS_H */
